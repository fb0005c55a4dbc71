/**
 * One LSTM cell as plain ops that lower to loop IR (Slice with constant bounds, the gate
 * activations, Mul, Add): shared by the zoo's unrolled LSTMs (src/zoo/lstm.ts) and by the
 * expansion of the ONNX LSTM op (expand-lstm.ts). The caller computes the gates' pre-activations
 * (x·W + h·R + biases, as Gemms) and says where each gate's block sits in them.
 */
import type { Attr } from "../ir/graph.js";

/** Where an expansion puts its nodes: a graph builder, or a rewrite's node list. */
export interface OpEmitter {
  /** A node with one output; returns the output's name. */
  node(op: string, inputs: readonly string[], attrs?: Readonly<Record<string, Attr>>): string;
  /** Elements [start, end) of `x` along `axis` (a Slice in whichever form the opset has). */
  slice(x: string, axis: number, start: number, end: number): string;
}

export interface LstmCellSpec {
  readonly hidden: number;
  /** The block (of `hidden` columns) of each gate in the pre-activations. */
  readonly blocks: { readonly i: number; readonly o: number; readonly f: number; readonly c: number };
  /** The activations f (the gates), g (the cell input) and h (the cell output). */
  readonly f: (x: string) => string;
  readonly g: (x: string) => string;
  readonly h: (x: string) => string;
  /** Peephole weights [hidden] of the i, o and f gates. */
  readonly peepholes?: { readonly i: string; readonly o: string; readonly f: string };
  /** Applied to every gate's pre-activation (ONNX's clip). */
  readonly clip?: (x: string) => string;
  /** The forget gate is 1 - i (ONNX's input_forget). */
  readonly coupled?: (i: string) => string;
}

export interface LstmState {
  readonly h: string;
  readonly c: string;
}

/**
 * The next state from the pre-activations `gates` [batch, 4*hidden] and the previous cell
 * state (none: the zero state, whose f·c and peephole terms are left out rather than computed
 * from zeros).
 */
export function lstmCell(e: OpEmitter, gates: string, prevC: string | undefined, spec: LstmCellSpec): LstmState {
  const H = spec.hidden;
  const gate = (k: number, peephole: string | undefined, c: string | undefined) => {
    let v = e.slice(gates, 1, k * H, (k + 1) * H);
    if (peephole && c) v = e.node("Add", [v, e.node("Mul", [peephole, c])]);
    return spec.clip ? spec.clip(v) : v;
  };
  const p = spec.peepholes;
  const i = spec.f(gate(spec.blocks.i, p?.i, prevC));
  const ig = e.node("Mul", [i, spec.g(gate(spec.blocks.c, undefined, undefined))]);
  const c = prevC
    ? e.node("Add", [e.node("Mul", [spec.coupled ? spec.coupled(i) : spec.f(gate(spec.blocks.f, p?.f, prevC)), prevC]), ig])
    : ig;
  const o = spec.f(gate(spec.blocks.o, p?.o, c));
  return { h: e.node("Mul", [o, spec.h(c)]), c };
}
