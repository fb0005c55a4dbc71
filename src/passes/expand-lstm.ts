/**
 * The ONNX LSTM op, when its sequence length and batch are static, expanded into its cells
 * unrolled over the sequence (lstm-cell.ts), so it runs as generated code like the zoo's LSTMs.
 *
 * Per direction: one Gemm computes every step's input projection x·Wᵀ + Wb + Rb at once; each
 * step adds h·Rᵀ in a second Gemm (left out for a zero initial state) and goes through the
 * cell. Gate blocks are i, o, f, c as ONNX stacks them; peepholes, clip, input_forget, the
 * activation functions, reverse and bidirectional directions and both layouts follow the
 * reference (src/ops/rnn.ts). Y, Y_h and Y_c are assembled from the steps' states.
 */
import { KilnError } from "../ir/errors.js";
import type { Attr, Node } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { isStaticShape } from "../ir/types.js";
import { opsetFor } from "../ops/interpreter.js";
import { Attrs, getOp } from "../ops/registry.js";
import { type ActivationSpec, activationSpecs, numDirections } from "../ops/rnn.js";
import { canReshape, type RuleEmitter, ruleEmitter } from "./emitter.js";
import { type LstmState, lstmCell } from "./lstm-cell.js";
import type { Rule } from "./rewrite.js";

const float = (value: number): Attr => ({ type: "float", value });

type ActivationOps = (e: RuleEmitter, a: ActivationSpec) => (x: string) => string;
const unary = (op: string, attrs: (a: ActivationSpec) => Readonly<Record<string, Attr>> = () => ({})): ActivationOps =>
  (e, a) => (x) => e.node(op, [x], attrs(a));

/** The activation functions of the recurrent ops (ACTIVATIONS in src/ops/rnn.ts) as ops. */
const ACTIVATION_OPS: Readonly<Record<string, ActivationOps>> = {
  sigmoid: unary("Sigmoid"),
  tanh: unary("Tanh"),
  relu: unary("Relu"),
  softsign: unary("Softsign"),
  softplus: unary("Softplus"),
  leakyrelu: unary("LeakyRelu", (a) => ({ alpha: float(a.alpha) })),
  thresholdedrelu: unary("ThresholdedRelu", (a) => ({ alpha: float(a.alpha) })),
  elu: unary("Elu", (a) => ({ alpha: float(a.alpha) })),
  hardsigmoid: unary("HardSigmoid", (a) => ({ alpha: float(a.alpha), beta: float(a.beta) })),
  affine: (e, a) => (x) => e.node("Add", [e.node("Mul", [x, e.scalar(a.alpha)]), e.scalar(a.beta)]),
  scaledtanh: (e, a) => (x) => e.node("Mul", [e.node("Tanh", [e.node("Mul", [x, e.scalar(a.beta)])]), e.scalar(a.alpha)]),
};

/** The node's activations and direction count, or null when the interpreter should report what is wrong. */
function readSpecs(attrs: Attrs): { acts: ActivationSpec[][]; dirs: number } | null {
  try {
    const dirs = numDirections({ attrs }, "LSTM");
    const acts = activationSpecs({ attrs }, "LSTM", dirs);
    return acts.flat().every((a) => ACTIVATION_OPS[a.name]) ? { acts, dirs } : null;
  } catch (e) {
    if (e instanceof KilnError) return null;
    throw e;
  }
}

/** Concat of `parts` along `axis`, or the one part itself. */
const concat = (e: RuleEmitter, parts: readonly string[], axis: number) =>
  (parts.length === 1 ? parts[0]! : e.node("Concat", parts, { axis: { type: "int", value: axis } }));

export const expandLstm: Rule = {
  name: "expand-lstm",
  op: "LSTM",
  apply: (node: Node, ctx) => {
    const opset = opsetFor(ctx.opsets, "LSTM");
    const attrs = new Attrs(node, getOp("LSTM").attrs, opset);
    const [X, W, R, B, lens, initH, initC, P] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => node.inputs[i] || undefined);
    const xt = ctx.type(X!), wt = ctx.type(W!), rt = ctx.type(R!);
    if (xt?.dtype !== "float32" || !isStaticShape(xt.shape) || xt.shape.length !== 3) return null;
    if (!wt || !isStaticShape(wt.shape) || !rt || !isStaticShape(rt.shape)) return null;
    // The expansion reads shapes statically and reshapes by them.
    if (!canReshape(ctx, xt.shape, wt.shape, rt.shape)) return null;
    const layout = attrs.int("layout");
    const [S, N, I] = layout === 0 ? xt.shape : [xt.shape[1]!, xt.shape[0]!, xt.shape[2]!];
    const H = attrs.optInt("hidden_size") ?? rt.shape[2]!;
    const specs = readSpecs(attrs);
    if (!specs) return null;
    const { acts, dirs } = specs;
    if (S === 0 || wt.shape.join() !== [dirs, 4 * H, I].join() || rt.shape.join() !== [dirs, 4 * H, H].join()) return null;
    // Sequence lengths other than the full sequence mask steps per batch row: left to the interpreter.
    if (lens) {
      const l = ctx.constant(lens);
      if (!l || l.ints().some((v) => v !== S)) return null;
    }
    const clip = attrs.optFloat("clip");
    const inputForget = attrs.int("input_forget") !== 0;

    const e = ruleEmitter(ctx, node.outputs.find((o) => o !== "") ?? "lstm", opsetFor(ctx.opsets, ""));
    const one = e.scalar(1);
    const clipOp = clip === undefined ? undefined : opset < 11
      ? (x: string) => e.node("Clip", [x], { min: float(-clip), max: float(clip) })
      : (x: string) => e.node("Clip", [x, e.scalar(-clip), e.scalar(clip)]);
    const seqMajor = layout === 0 ? X! : e.node("Transpose", [X!], { perm: { type: "ints", value: [1, 0, 2] } });
    const rows = e.reshape(seqMajor, [S * N, I]);
    /** Direction d's [rows, cols] matrix of a [dirs, rows, cols] input. */
    const ofDirection = (v: string, d: number, shape: readonly number[], axis = 0) =>
      e.reshape(dirs === 1 ? v : e.slice(v, axis, d, d + 1), shape);
    const stateAxis = layout === 0 ? 0 : 1;

    const ys: string[] = [], hs: string[] = [], cs: string[] = [];
    for (let d = 0; d < dirs; d++) {
      const reverse = attrs.string("direction") === "reverse" || d === 1;
      const [f, g, h] = acts[d]!.map((a) => ACTIVATION_OPS[a.name]!(e, a));
      const bias = B
        ? (() => {
          const b = ofDirection(B, d, [8 * H]);
          return e.node("Add", [e.slice(b, 0, 0, 4 * H), e.slice(b, 0, 4 * H, 8 * H)]);
        })()
        : e.constant(Tensor.zeros("float32", [4 * H]));
      const transB = { transB: { type: "int", value: 1 } } as const;
      const xw = e.node("Gemm", [rows, ofDirection(W!, d, [4 * H, I]), bias], transB);
      const r = ofDirection(R!, d, [4 * H, H]);
      const p = P ? ofDirection(P, d, [3 * H]) : undefined;
      const peepholes = p ? { i: e.slice(p, 0, 0, H), o: e.slice(p, 0, H, 2 * H), f: e.slice(p, 0, 2 * H, 3 * H) } : undefined;
      const spec = {
        hidden: H, blocks: { i: 0, o: 1, f: 2, c: 3 }, f, g, h, peepholes, clip: clipOp,
        coupled: inputForget ? (i: string) => e.node("Sub", [one, i]) : undefined,
      };
      let state: Partial<LstmState> = {
        h: initH ? ofDirection(initH, d, [N, H], stateAxis) : undefined,
        c: initC ? ofDirection(initC, d, [N, H], stateAxis) : undefined,
      };
      const perStep: string[] = new Array<string>(S);
      for (let s = 0; s < S; s++) {
        const t = reverse ? S - 1 - s : s;
        const x = S === 1 ? xw : e.slice(xw, 0, t * N, (t + 1) * N);
        const gates = state.h ? e.node("Gemm", [state.h, r, x], transB) : x;
        state = lstmCell(e, gates, state.c, spec);
        perStep[t] = e.reshape(state.h!, [1, 1, N, H]);
      }
      ys.push(concat(e, perStep, 0));
      hs.push(e.reshape(state.h!, [1, N, H]));
      cs.push(e.reshape(state.c!, [1, N, H]));
    }
    const perm = (v: string, p: number[]) => (layout === 0 ? v : e.node("Transpose", [v], { perm: { type: "ints", value: p } }));
    const y = perm(concat(e, ys, 1), [2, 0, 1, 3]);
    return e.rewrite(node.outputs, [y, perm(concat(e, hs, 0), [1, 0, 2]), perm(concat(e, cs, 0), [1, 0, 2])]);
  },
};
