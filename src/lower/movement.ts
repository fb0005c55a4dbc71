/**
 * Lowering of injective ops: each output element reads one input element at a remapped index
 * (or a constant, for padding). Reshapes go through the flat index, Transpose permutes, Concat
 * and Pad select by range, and the layout transforms map between NCHW and NCHW[b]c.
 */
import { stridesOf } from "../ir/tensor.js";
import { type Expr, add, and, cast, div, ge, lit, lt, max, min, mod, mul, select, sub } from "../loopir/expr.js";
import { fullPads, sliceRange, sliceSpec, transposePerm } from "../ops/movement.js";
import { normAxis } from "../ops/util.js";
import { broadcastAt } from "./elementwise.js";
import type { Access, OpLowerContext, OpLowering } from "./lowering.js";

const int = (v: number) => lit(v, "int");

/** Same elements in row-major order, another shape. */
export function reshapeAccess(x: Access, shape: readonly number[]): Access {
  const outStrides = stridesOf(shape), inStrides = stridesOf(x.shape);
  return {
    shape,
    at: (index: readonly Expr[]) => {
      const flat = index.reduce<Expr>((acc, e, d) => add(acc, mul(e, outStrides[d]!)), int(0));
      return x.at(x.shape.map((d, j) => (d === 1 ? int(0) : mod(div(flat, inStrides[j]!), d))));
    },
  };
}

const reshape: OpLowering = (ctx) => [reshapeAccess(ctx.inputs[0]!, ctx.outputShapes[0]!)];

const transpose: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const perm = transposePerm(ctx.attrs.optInts("perm"), x.shape.length);
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => {
      const src: Expr[] = new Array(perm.length);
      perm.forEach((a, d) => (src[a] = index[d]!));
      return x.at(src);
    },
  }];
};

const concat: OpLowering = (ctx) => {
  const parts = ctx.inputs.filter((x): x is Access => x !== null && x.shape.every((d) => d > 0));
  const shape = ctx.outputShapes[0]!;
  const axis = normAxis(ctx.attrs.int("axis"), shape.length, "Concat");
  return [{
    shape,
    at: (index: readonly Expr[]) => {
      // The last part needs no test; each earlier one is chosen while the index is below its end.
      let offset = parts.slice(0, -1).reduce((s, p) => s + p.shape[axis]!, 0);
      let value = parts[parts.length - 1]!.at(index.map((e, d) => (d === axis ? add(e, -offset) : e)));
      for (let k = parts.length - 2; k >= 0; k--) {
        offset -= parts[k]!.shape[axis]!;
        const local = index.map((e, d) => (d === axis ? add(e, -offset) : e));
        value = select(lt(index[axis]!, offset + parts[k]!.shape[axis]!), parts[k]!.at(local), value);
      }
      return value;
    },
  }];
};

/** Constant ints of input i, or undefined. */
const constInts = (ctx: OpLowerContext, i: number): number[] | undefined =>
  ctx.node.inputs[i] ? ctx.constants[i]?.ints() : undefined;

const slice: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const rank = x.shape.length;
  const spec = ctx.opset < 10
    ? sliceSpec([...ctx.attrs.ints("starts")], [...ctx.attrs.ints("ends")], ctx.attrs.optInts("axes") ? [...ctx.attrs.optInts("axes")!] : undefined, undefined, rank)
    : (() => {
      const [starts, ends] = [constInts(ctx, 1), constInts(ctx, 2)];
      if (!starts || !ends || (ctx.node.inputs[3] && !constInts(ctx, 3)) || (ctx.node.inputs[4] && !constInts(ctx, 4))) return undefined;
      return sliceSpec(starts, ends, constInts(ctx, 3), constInts(ctx, 4), rank);
    })();
  if (!spec) return "Slice with non-constant bounds";
  const first = x.shape.map(() => 0), step = x.shape.map(() => 1);
  spec.axes.forEach((a, i) => {
    first[a] = sliceRange(x.shape[a]!, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!)[0];
    step[a] = spec.steps[i]!;
  });
  return [{ shape: ctx.outputShapes[0]!, at: (index: readonly Expr[]) => x.at(index.map((e, d) => add(mul(e, step[d]!), first[d]!))) }];
};

const expand: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  return [{ shape: ctx.outputShapes[0]!, at: (index: readonly Expr[]) => broadcastAt(x, index) }];
};

type SourceMode = "edge" | "wrap" | "reflect";

/**
 * The source index along an axis of size `d` for c = output index - begin padding, as
 * padSource in src/ops/movement.ts computes it (integer % is floor modulo).
 */
const PAD_SOURCE: Readonly<Record<SourceMode, (c: Expr, d: number) => Expr>> = {
  edge: (c, d) => max(min(c, d - 1), 0),
  wrap: (c, d) => mod(c, d),
  reflect: (c, d) => {
    if (d === 1) return int(0);
    const period = 2 * (d - 1), m = mod(c, period);
    return select(lt(m, d), m, sub(period, m));
  },
};

const pad: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const rank = x.shape.length;
  const mode = ctx.attrs.string("mode");
  const source = mode === "constant" ? undefined : PAD_SOURCE[mode as SourceMode];
  if (mode !== "constant" && !source) return `Pad mode ${mode}`;
  let pads: number[] | undefined, value = 0, axes: number[] | undefined;
  if (ctx.opset < 11) {
    pads = [...ctx.attrs.ints(ctx.opset < 2 ? "paddings" : "pads")];
    value = ctx.attrs.optFloat("value") ?? 0;
  } else {
    pads = constInts(ctx, 1);
    if (ctx.node.inputs[2]) {
      const v = ctx.constants[2];
      if (!v) return "Pad with a non-constant value";
      value = v.numbers()[0] ?? 0;
    }
    if (ctx.node.inputs[3]) {
      axes = constInts(ctx, 3);
      if (!axes) return "Pad with non-constant axes";
    }
  }
  if (!pads) return "Pad with non-constant pads";
  const before = fullPads(pads, axes, rank).slice(0, rank);
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => {
      const src = index.map((e, d) => add(e, -before[d]!));
      if (source) return x.at(src.map((c, d) => (before[d] === 0 && ctx.outputShapes[0]![d] === x.shape[d] ? c : source(c, x.shape[d]!))));
      const inside = and(...src.flatMap((e, d) => [ge(e, 0), lt(e, x.shape[d]!)]));
      return select(inside, x.at(src), lit(value, "f32"));
    },
  }];
};

/** NCHW... -> [N, C/b, H, W..., b]; padding lanes are zero. */
const toBlocked: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const block = ctx.attrs.int("block"), channels = x.shape[1]!;
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => {
      const c = add(mul(index[1]!, block), index[index.length - 1]!);
      const value = x.at([index[0]!, c, ...index.slice(2, -1)]);
      return channels % block === 0 ? value : select(lt(c, channels), value, lit(0, "f32"));
    },
  }];
};

const fromBlocked: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const block = ctx.attrs.int("block");
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => x.at([index[0]!, div(index[1]!, block), ...index.slice(2), mod(index[1]!, block)]),
  }];
};

/** Split: each output is a slice along the axis, at the offset of the outputs before it. */
const split: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const axis = normAxis(ctx.attrs.int("axis"), x.shape.length, "Split");
  let offset = 0;
  return ctx.outputShapes.map((shape) => {
    const at = offset;
    offset += shape[axis] ?? 0;
    return { shape, at: (index: readonly Expr[]) => x.at(index.map((e, d) => (d === axis ? add(e, at) : e))) };
  });
};

/** Gather with constant indices: they become an f32 table read back as ints (exact below 2^24). */
const gather: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const indices = ctx.constants[1];
  if (!indices) return "Gather with non-constant indices";
  const axis = normAxis(ctx.attrs.int("axis"), x.shape.length, "Gather");
  const dim = x.shape[axis]!;
  const values = indices.ints().map((i) => (i < 0 ? i + dim : i));
  if (values.some((i) => i < 0 || i >= dim) || dim >= 2 ** 24) return "Gather with out-of-range indices";
  const q = indices.rank;
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => {
      const flat = indices.shape.reduce<Expr>((acc, n, j) => add(mul(acc, n), index[axis + j]!), int(0));
      const i = values.length === 1 ? int(values[0]!) : cast("int", ctx.table(values).at([flat]));
      return x.at([...index.slice(0, axis), i, ...index.slice(axis + q)]);
    },
  }];
};

const tile: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  return [{ shape: ctx.outputShapes[0]!, at: (index: readonly Expr[]) => x.at(index.map((e, d) => (x.shape[d] === 1 ? int(0) : mod(e, x.shape[d]!)))) }];
};

/** DepthToSpace (DCR or CRD) and SpaceToDepth on NCHW. */
function depthSpace(toSpace: boolean): OpLowering {
  return (ctx) => {
    const x = ctx.inputs[0]!;
    if (x.shape.length !== 4) return "a rank other than 4";
    const b = ctx.attrs.int("blocksize");
    const crd = toSpace && ctx.opset >= 11 && ctx.attrs.string("mode") === "CRD";
    const shape = ctx.outputShapes[0]!;
    return [{
      shape,
      at: (index: readonly Expr[]) => {
        const [n, c, h, w] = index as [Expr, Expr, Expr, Expr];
        if (!toSpace) {
          // out[n, (bh*b + bw)*C + c, h, w] = x[n, c, h*b + bh, w*b + bw]
          const channels = x.shape[1]!;
          const blk = div(c, channels), cc = mod(c, channels);
          return x.at([n, cc, add(mul(h, b), div(blk, b)), add(mul(w, b), mod(blk, b))]);
        }
        const oc = shape[1]!;
        const [bh, bw] = [mod(h, b), mod(w, b)];
        const ic = crd ? add(mul(c, b * b), add(mul(bh, b), bw)) : add(mul(add(mul(bh, b), bw), oc), c);
        return x.at([n, ic, div(h, b), div(w, b)]);
      },
    }];
  };
}

export const MOVEMENT_LOWERINGS: Readonly<Record<string, OpLowering>> = {
  Reshape: reshape,
  Flatten: reshape,
  Squeeze: reshape,
  Unsqueeze: reshape,
  Cast: reshape,
  Transpose: transpose,
  Concat: concat,
  Slice: slice,
  Expand: expand,
  Pad: pad,
  Split: split,
  Gather: gather,
  Tile: tile,
  DepthToSpace: depthSpace(true),
  SpaceToDepth: depthSpace(false),
  "kiln:ToBlocked": toBlocked,
  "kiln:FromBlocked": fromBlocked,
};
