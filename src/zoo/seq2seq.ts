/**
 * Seq2Seq of Rammer's evaluation: an LSTM encoder over 100 steps and an LSTM decoder of 30 steps
 * started from the encoder's final state, each decoder step fed the projection of its previous
 * output (greedy decoding with a continuous "embedding"), all unrolled.
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { LstmStack, unstack } from "./lstm.js";
import { Weights } from "./weights.js";

export interface Seq2SeqOptions {
  readonly layers: number;
  readonly hidden: number;
  /** The size of an encoder input and of a decoder output (the embedding). */
  readonly embedding: number;
  readonly encoderSteps: number;
  readonly decoderSteps: number;
}

export const SEQ2SEQ_DEFAULTS: Seq2SeqOptions = { layers: 2, hidden: 128, embedding: 128, encoderSteps: 100, decoderSteps: 30 };

/** Input `source` [encoderSteps, 1, embedding]; output the decoder's projected outputs [decoderSteps, embedding]. */
export function seq2seq(options: Partial<Seq2SeqOptions> = {}): Model {
  const o = { ...SEQ2SEQ_DEFAULTS, ...options };
  const b = new GraphBuilder("seq2seq", { "": 17 });
  const w = new Weights(b);
  const x = b.input("source", "float32", [o.encoderSteps, 1, o.embedding]);
  const rows = b.node("Reshape", [x, w.ints([o.encoderSteps, o.embedding])]);
  const encoder = new LstmStack(b, w, "encoder", o.embedding, o.hidden, o.layers);
  let { states } = encoder.run(unstack(b, w, rows, o.encoderSteps));
  const decoder = new LstmStack(b, w, "decoder", o.embedding, o.hidden, o.layers);
  const proj = w.param("proj.w", [o.hidden, o.embedding], o.hidden);
  const projBias = w.param("proj.b", [o.embedding], o.hidden);
  // The start token's embedding.
  let y = w.param("go", [1, o.embedding], 1);
  const ys: string[] = [];
  for (let t = 0; t < o.decoderSteps; t++) {
    states = decoder.step(y, states);
    // Tanh keeps the fed-back input in an embedding's range.
    y = b.node("Tanh", [b.node("Gemm", [states[states.length - 1]!.h, proj, projBias])]);
    ys.push(y);
  }
  b.output(b.node("Concat", ys, { axis: 0 }));
  return b.build();
}
