/** LSTM-TC of Rammer's evaluation: 10 stacked LSTM layers of hidden size 256 over 100 steps, unrolled (~15,000 nodes). */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { LstmStack, unstack } from "./lstm.js";
import { Weights } from "./weights.js";

export interface LstmTcOptions {
  readonly layers: number;
  readonly hidden: number;
  readonly steps: number;
  readonly input: number;
}

export const LSTM_TC_DEFAULTS: LstmTcOptions = { layers: 10, hidden: 256, steps: 100, input: 256 };

/** Input `sequence` [steps, 1, input]; output the top layer's final hidden state [1, hidden]. */
export function lstmTc(options: Partial<LstmTcOptions> = {}): Model {
  const o = { ...LSTM_TC_DEFAULTS, ...options };
  const b = new GraphBuilder("lstm_tc", { "": 17 });
  const w = new Weights(b);
  const x = b.input("sequence", "float32", [o.steps, 1, o.input]);
  const rows = b.node("Reshape", [x, w.ints([o.steps, o.input])]);
  const { hs } = new LstmStack(b, w, "lstm", o.input, o.hidden, o.layers).run(unstack(b, w, rows, o.steps));
  b.output(hs[hs.length - 1]!);
  return b.build();
}
