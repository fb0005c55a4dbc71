/**
 * The unrolled LSTM shared by lstm-tc, seq2seq and deepspeech2. Each cell is plain ops that
 * lower to loop IR (Gemm, then the cell of src/passes/lstm-cell.ts: Slice with constant bounds,
 * Sigmoid, Tanh, Mul, Add), never the ONNX LSTM op, so the graph has one node per operation of
 * every step, as in Rammer's evaluation.
 */
import type { GraphBuilder } from "../frontend/builder/builder.js";
import { type LstmState, type OpEmitter, lstmCell } from "../passes/lstm-cell.js";
import type { Weights } from "./weights.js";

interface LayerWeights {
  /** [input, 4*hidden], [hidden, 4*hidden], [4*hidden]; gates in the order i, f, g, o. */
  readonly w: string;
  readonly r: string;
  readonly bias: string;
}

/** A stack of LSTM layers advanced one time step at a time, so a caller can feed a step's output back in. */
export class LstmStack {
  private readonly layers: LayerWeights[] = [];

  constructor(
    private readonly b: GraphBuilder,
    private readonly weights: Weights,
    name: string,
    input: number,
    private readonly hidden: number,
    layers: number,
  ) {
    for (let l = 0; l < layers; l++) {
      const fanIn = (l === 0 ? input : hidden) + hidden;
      this.layers.push({
        w: weights.param(`${name}.${l}.w`, [l === 0 ? input : hidden, 4 * hidden], fanIn),
        r: weights.param(`${name}.${l}.r`, [hidden, 4 * hidden], fanIn),
        bias: weights.param(`${name}.${l}.b`, [4 * hidden], fanIn),
      });
    }
  }

  /** One time step of `x` [1, input] through every layer; no `states` means the zero state. */
  step(x: string, states?: readonly LstmState[]): LstmState[] {
    const out: LstmState[] = [];
    for (let l = 0; l < this.layers.length; l++) {
      out.push(this.cell(this.layers[l]!, l === 0 ? x : out[l - 1]!.h, states?.[l]));
    }
    return out;
  }

  /** A whole sequence: the top layer's hidden state at each step, and the final state of each layer. */
  run(xs: readonly string[], initial?: readonly LstmState[]): { hs: string[]; states: LstmState[] } {
    const hs: string[] = [];
    let states = initial;
    for (const x of xs) {
      states = this.step(x, states);
      hs.push(states[states.length - 1]!.h);
    }
    return { hs, states: [...(states ?? [])] };
  }

  /** The zero state's h·R term is left out rather than computed from constant zeros (and so is f·c, in the cell). */
  private cell(p: LayerWeights, x: string, s: LstmState | undefined): LstmState {
    const { b, weights, hidden } = this;
    const xw = b.node("Gemm", [x, p.w, p.bias]);
    const gates = s ? b.node("Gemm", [s.h, p.r, xw]) : xw;
    const e: OpEmitter = {
      node: (op, inputs, attrs) => b.node(op, inputs, attrs),
      slice: (v, axis, start, end) => b.node("Slice", [v, weights.ints([start]), weights.ints([end]), weights.ints([axis])]),
    };
    const act = (op: string) => (v: string) => b.node(op, [v]);
    return lstmCell(e, gates, s?.c, { hidden, blocks: { i: 0, f: 1, c: 2, o: 3 }, f: act("Sigmoid"), g: act("Tanh"), h: act("Tanh") });
  }
}

/** The rows of a [steps, size] sequence, each as a [1, size] value. */
export function unstack(b: GraphBuilder, weights: Weights, seq: string, steps: number): string[] {
  return Array.from({ length: steps }, (_, t) => b.node("Slice", [seq, weights.ints([t]), weights.ints([t + 1]), weights.ints([0])]));
}
