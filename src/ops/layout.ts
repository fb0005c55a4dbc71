/**
 * Data layouts. kiln's CPU layout for convolutions, pooling and normalization is blocked
 * NCHW[b]c: a tensor [N, C, H, W] is stored as [N, ceil(C/b), H, W, b], channel c at block
 * c/b, lane c%b (padding lanes are zero). Three internal ops express it:
 *   - `kiln:ToBlocked {block}`: NCHW... -> blocked;
 *   - `kiln:FromBlocked {block, channels}`: blocked -> NCHW..., dropping the padding lanes;
 *   - `kiln:InLayout {block, blocked_inputs, body}`: the op in `body` (written in NCHW, as ONNX
 *     defines it) applied to blocked inputs, giving a blocked output. Its reference evaluation
 *     unblocks, runs the body and blocks again, so its meaning is exactly the ONNX op's; code
 *     generators match the body op and emit a kernel that works on the blocked data directly.
 */
import { EvalError, ModelError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import { dimCeilDiv } from "../ir/dim.js";
import { patternOf, type OpDef } from "./registry.js";
import { inputType, req } from "./util.js";

export function blockedShape(shape: readonly Dim[], block: number): Dim[] {
  if (shape.length < 2) throw new ModelError(`blocked layout needs rank 2 or more, got [${shape.join(",")}]`);
  return [shape[0]!, dimCeilDiv(shape[1]!, block), ...shape.slice(2), block];
}

export function blockedType(t: TensorType, block: number): TensorType {
  return { dtype: t.dtype, shape: t.shape === null ? null : blockedShape(t.shape, block) };
}

export function toBlocked(t: Tensor, block: number): Tensor {
  const [n, c] = [t.shape[0]!, t.shape[1]!];
  const inner = shapeSize(t.shape.slice(2));
  const cb = Math.ceil(c / block);
  const out = Tensor.zeros(t.dtype, blockedShape(t.shape, block) as number[]);
  const src = t.data as Float32Array, dst = out.data as Float32Array;
  for (let i = 0; i < n; i++) for (let ch = 0; ch < c; ch++) {
    const from = (i * c + ch) * inner;
    const to = ((i * cb + Math.floor(ch / block)) * inner) * block + (ch % block);
    for (let s = 0; s < inner; s++) dst[to + s * block] = src[from + s]!;
  }
  return out;
}

export function fromBlocked(t: Tensor, block: number, channels: number): Tensor {
  const n = t.shape[0]!, cb = t.shape[1]!;
  if (t.shape[t.rank - 1] !== block || Math.ceil(channels / block) !== cb) {
    throw new EvalError(`kiln:FromBlocked: shape [${t.shape.join(",")}] does not hold ${channels} channels in blocks of ${block}`);
  }
  const spatial = t.shape.slice(2, -1);
  const inner = shapeSize(spatial);
  const out = Tensor.zeros(t.dtype, [n, channels, ...spatial]);
  const src = t.data as Float32Array, dst = out.data as Float32Array;
  for (let i = 0; i < n; i++) for (let ch = 0; ch < channels; ch++) {
    const from = ((i * cb + Math.floor(ch / block)) * inner) * block + (ch % block);
    const to = (i * channels + ch) * inner;
    for (let s = 0; s < inner; s++) dst[to + s] = src[from + s * block]!;
  }
  return out;
}

const toBlockedOp: OpDef = {
  name: "kiln:ToBlocked",
  pattern: "injective",
  attrs: { block: { type: "int", required: true } },
  infer: (ctx) => [blockedType(inputType(ctx, 0), ctx.attrs.int("block"))],
  evaluate: (ctx) => [toBlocked(req(ctx.inputs[0], "kiln:ToBlocked", 0), ctx.attrs.int("block"))],
};

const fromBlockedOp: OpDef = {
  name: "kiln:FromBlocked",
  pattern: "injective",
  attrs: { block: { type: "int", required: true }, channels: { type: "int", required: true } },
  infer: (ctx) => {
    const t = inputType(ctx, 0);
    if (t.shape === null) return [{ dtype: t.dtype, shape: null }];
    return [{ dtype: t.dtype, shape: [t.shape[0]!, ctx.attrs.int("channels"), ...t.shape.slice(2, -1)] }];
  },
  evaluate: (ctx) => [fromBlocked(req(ctx.inputs[0], "kiln:FromBlocked", 0), ctx.attrs.int("block"), ctx.attrs.int("channels"))],
};

/** The one op inside an InLayout node. */
export function innerNode(n: Node): Node {
  const body = n.attrs["body"];
  if (body?.type !== "graph" || body.value.nodes.length !== 1) throw new ModelError("kiln:InLayout: body must hold exactly one node");
  return body.value.nodes[0]!;
}

/** How a node reads in listings: an InLayout node as its inner op and layout (`Conv@NCHW4c`). */
export function displayOp(n: Node): string {
  if (n.op !== "kiln:InLayout") return n.op;
  const block = n.attrs["block"];
  return `${innerNode(n).op}@NCHW${block?.type === "int" ? block.value : "?"}c`;
}

const inLayout: OpDef = {
  name: "kiln:InLayout",
  pattern: (n) => patternOf(innerNode(n)),
  attrs: {
    block: { type: "int", required: true },
    blocked_inputs: { type: "ints", required: true },
    body: { type: "graph", required: true },
  },
  infer: (ctx) => {
    const body: Graph = ctx.attrs.graph("body");
    const out = ctx.inferSubgraph(body, body.inputs.map((v) => v.type));
    const block = ctx.attrs.int("block");
    return out.map((t) => (t ? blockedType(t, block) : t));
  },
  evaluate: (ctx) => {
    const body: Graph = ctx.attrs.graph("body");
    const block = ctx.attrs.int("block");
    const blocked = new Set(ctx.attrs.ints("blocked_inputs"));
    const inputs = ctx.inputs.map((t, i) => {
      const x = req(t, "kiln:InLayout", i);
      const channels = body.inputs[i]!.type.shape?.[1];
      if (!blocked.has(i)) return x;
      if (typeof channels !== "number") throw new ModelError("kiln:InLayout: blocked inputs need a known channel count");
      return fromBlocked(x, block, channels);
    });
    return ctx.runSubgraph(body, inputs).map((t) => toBlocked(t, block));
  },
};

export const ops: OpDef[] = [toBlockedOp, fromBlockedOp, inLayout];
