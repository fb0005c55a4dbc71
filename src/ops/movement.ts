/** Data movement: Transpose, Concat, Split, Slice, Pad, Tile, DepthToSpace, SpaceToDepth, ReverseSequence, Trilu, CenterCropPad. */
import { DTYPE_INFO, type DType, type TypedArray } from "../ir/dtype.js";
import { dimAdd, dimCeilDiv, dimDiv, dimMul, dimSub } from "../ir/dim.js";
import { EvalError, ModelError } from "../ir/errors.js";
import { Tensor, checkShape, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { inputType, normAxes, normAxis, req, sameAsInput } from "./util.js";

/** Storage viewed as plain indexable slots, so elements move without conversion (int64 stays exact, float16 stays bits). */
type Slots = { [i: number]: number | bigint };
const slots = (a: TypedArray): Slots => a as unknown as Slots;

/** The raw storage value of `v` in `dtype` (a float16 bit pattern, a bigint for int64, ...). */
export function rawValue(dtype: DType, v: Tensor | number): number | bigint {
  if (typeof v !== "number") {
    if (v.size !== 1) throw new ModelError(`expected a single value, got a tensor of shape [${v.shape.join(",")}]`);
    if (v.dtype === dtype) return slots(v.data)[0]!;
    v = v.numbers()[0]!;
  }
  return slots(Tensor.fromNumbers(dtype, [], [v]).data)[0]!;
}

/**
 * A tensor of `outShape` whose element at each output coordinate is element `src(coord)` (a flat
 * index) of `x`, or `fill` (raw storage value, default zero) where `src` returns -1.
 */
export function remap(x: Tensor, outShape: readonly number[], src: (coord: readonly number[]) => number,
  fill?: number | bigint, dtype: DType = x.dtype): Tensor {
  checkShape(outShape, "output");
  const n = shapeSize(outShape);
  const data = DTYPE_INFO[dtype].make(n);
  const out = slots(data);
  const inp = slots(x.data);
  const rank = outShape.length;
  const coord = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    const j = src(coord);
    if (j >= 0) out[k] = inp[j]!;
    else if (fill !== undefined) out[k] = fill;
    for (let d = rank - 1; d >= 0; d--) {
      if (++coord[d]! < outShape[d]!) break;
      coord[d] = 0;
    }
  }
  return new Tensor(dtype, [...outShape], data);
}

/** Integer values of a compile-time constant input, or undefined when it is not known. */
export function constInts(ctx: InferContext, i: number): number[] | undefined {
  return ctx.constants[i]?.ints();
}

/** Values of an optional tensor input at evaluation time (undefined when omitted). */
function optInts(ctx: EvalContext, i: number): number[] | undefined {
  const t = ctx.inputs[i];
  return t ? t.ints() : undefined;
}

/** A shape of fresh symbols of the given rank. */
export function freshDims(ctx: InferContext, rank: number): Dim[] {
  return Array.from({ length: rank }, () => ctx.fresh());
}

/** Length of a 1-D input known from its type, if any (the number of axes, pads, ...). */
export function vectorLength(t: TensorType | null | undefined): number | undefined {
  const d = t?.shape?.[0];
  return t?.shape?.length === 1 && typeof d === "number" ? d : undefined;
}

function checkUnique(axes: readonly number[], op: string): void {
  if (new Set(axes).size !== axes.length) throw new ModelError(`${op}: repeated axis in [${axes.join(",")}]`);
}

// ---------------------------------------------------------------- Transpose

export function transposePerm(perm: readonly number[] | undefined, rank: number): number[] {
  if (perm === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank) throw new ModelError(`Transpose: perm [${perm.join(",")}] does not match rank ${rank}`);
  const p = normAxes(perm, rank, "Transpose");
  checkUnique(p, "Transpose");
  return p;
}

const transpose: OpDef = {
  name: "Transpose",
  pattern: "injective",
  attrs: { perm: { type: "ints" } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const shape = x.shape;
    const p = transposePerm(ctx.attrs.optInts("perm"), shape.length);
    return [{ dtype: x.dtype, shape: p.map((a) => shape[a]!) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Transpose", 0);
    const p = transposePerm(ctx.attrs.optInts("perm"), x.rank);
    const strides = stridesOf(x.shape);
    return [remap(x, p.map((a) => x.shape[a]!), (c) => {
      let j = 0;
      for (let i = 0; i < p.length; i++) j += c[i]! * strides[p[i]!]!;
      return j;
    })];
  },
};

// ---------------------------------------------------------------- Concat

/** Pick the most specific of two dims that must be equal. */
function unifyDim(a: Dim, b: Dim): Dim {
  return typeof a === "number" ? a : b;
}

const concat: OpDef = {
  name: "Concat",
  pattern: "injective",
  attrs: { axis: { type: "int", default: (opset) => (opset < 4 ? 1 : undefined) } },
  infer: (ctx) => {
    const ins = ctx.inputs.map((_, i) => inputType(ctx, i));
    if (ins.length === 0) throw new ModelError("Concat: needs at least one input");
    const dtype = ins[0]!.dtype;
    if (ins.some((t) => t.dtype !== dtype)) throw new ModelError(`Concat: inputs have different dtypes ${ins.map((t) => t.dtype).join(", ")}`);
    const known = ins.find((t) => t.shape !== null)?.shape;
    if (known === undefined || known === null) return [{ dtype, shape: null }];
    const rank = known.length;
    const axis = normAxis(ctx.attrs.int("axis"), rank, "Concat");
    const out: Dim[] = [...known];
    let total: Dim | null = 0;
    for (const t of ins) {
      if (t.shape === null) { total = null; continue; }
      if (t.shape.length !== rank) throw new ModelError(`Concat: inputs have different ranks`);
      t.shape.forEach((d, i) => {
        if (i === axis) return;
        const o = out[i]!;
        if (typeof d === "number" && typeof o === "number" && d !== o) {
          throw new ModelError(`Concat: input shapes [${known.join(",")}] and [${t.shape!.join(",")}] differ outside axis ${axis}`);
        }
        out[i] = unifyDim(o, d);
      });
      if (total !== null) total = dimAdd(total, t.shape[axis]!);
    }
    out[axis] = total ?? ctx.fresh();
    return [{ dtype, shape: out }];
  },
  evaluate: (ctx) => {
    const xs = ctx.inputs.map((t, i) => req(t, "Concat", i));
    const first = xs[0]!;
    const rank = first.rank;
    const axis = normAxis(ctx.attrs.int("axis"), rank, "Concat");
    for (const x of xs) {
      if (x.dtype !== first.dtype) throw new EvalError(`Concat: inputs have different dtypes ${first.dtype} and ${x.dtype}`);
      if (x.rank !== rank || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new EvalError(`Concat: input shapes [${first.shape.join(",")}] and [${x.shape.join(",")}] differ outside axis ${axis}`);
      }
    }
    const outShape = [...first.shape];
    outShape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
    checkShape(outShape, "Concat output");
    const outer = shapeSize(first.shape.slice(0, axis));
    const inner = shapeSize(first.shape.slice(axis + 1));
    const data = DTYPE_INFO[first.dtype].make(shapeSize(outShape));
    const out = slots(data);
    const rowLen = outShape[axis]! * inner;
    let offset = 0;
    for (const x of xs) {
      const block = x.shape[axis]! * inner;
      const inp = slots(x.data);
      for (let o = 0; o < outer; o++) {
        for (let k = 0; k < block; k++) out[o * rowLen + offset + k] = inp[o * block + k]!;
      }
      offset += block;
    }
    return [new Tensor(first.dtype, outShape, data)];
  },
};

// ---------------------------------------------------------------- Split

/** The split sizes along the axis: explicit, by num_outputs (uneven last chunk), or equal parts. */
function splitSizes(op: string, dim: number, explicit: readonly number[] | undefined, numOutputs: number | undefined, outputCount: number): number[] {
  if (explicit !== undefined) {
    if (explicit.length !== outputCount) throw new ModelError(`${op}: split has ${explicit.length} entries for ${outputCount} outputs`);
    const sum = explicit.reduce((a, b) => a + b, 0);
    if (explicit.some((s) => s < 0) || sum !== dim) throw new EvalError(`${op}: split [${explicit.join(",")}] does not sum to dimension ${dim}`);
    return [...explicit];
  }
  if (numOutputs !== undefined) {
    if (numOutputs !== outputCount) throw new ModelError(`${op}: num_outputs ${numOutputs} but the node has ${outputCount} outputs`);
    const chunk = Math.ceil(dim / numOutputs);
    return Array.from({ length: numOutputs }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
  }
  if (dim % outputCount !== 0) throw new EvalError(`${op}: dimension ${dim} does not split evenly into ${outputCount} outputs`);
  return new Array<number>(outputCount).fill(dim / outputCount);
}

/** Explicit split sizes from the attribute (before opset 13) or the optional input 1. */
function explicitSplit(attr: readonly number[] | undefined, input: number[] | undefined, opset: number): number[] | undefined {
  if (opset >= 13 || (opset < 2 && input !== undefined)) return input;
  return attr !== undefined ? [...attr] : undefined;
}

const split: OpDef = {
  name: "Split",
  pattern: "injective",
  attrs: {
    axis: { type: "int", default: 0 },
    split: { type: "ints", until: 13 },
    num_outputs: { type: "int", since: 18 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const n = ctx.outputCount;
    if (x.shape === null) return Array.from({ length: n }, () => ({ dtype: x.dtype, shape: null }));
    const shape = x.shape;
    const axis = normAxis(ctx.attrs.int("axis"), shape.length, "Split");
    const hasInput = ctx.inputs[1] !== null && ctx.inputs[1] !== undefined;
    const input = hasInput ? constInts(ctx, 1) : undefined;
    const withDim = (d: Dim): TensorType => ({ dtype: x.dtype, shape: shape.map((s, i) => (i === axis ? d : s)) });
    if (hasInput && input === undefined && (ctx.opset >= 13 || ctx.opset < 2)) return Array.from({ length: n }, () => withDim(ctx.fresh()));
    const explicit = explicitSplit(ctx.attrs.optInts("split"), input, ctx.opset);
    const numOutputs = ctx.opset >= 18 ? ctx.attrs.optInt("num_outputs") : undefined;
    const dim = shape[axis]!;
    if (typeof dim === "number") return splitSizes("Split", dim, explicit, numOutputs, n).map(withDim);
    if (explicit !== undefined) {
      if (explicit.length !== n) throw new ModelError(`Split: split has ${explicit.length} entries for ${n} outputs`);
      return explicit.map(withDim);
    }
    if (numOutputs !== undefined) {
      const chunk = dimCeilDiv(dim, numOutputs);
      return Array.from({ length: n }, (_, i) => withDim(i < n - 1 ? chunk : dimSub(dim, dimMul(chunk, n - 1))));
    }
    return Array.from({ length: n }, () => withDim(dimDiv(dim, n)));
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Split", 0);
    const axis = normAxis(ctx.attrs.int("axis"), x.rank, "Split");
    const explicit = explicitSplit(ctx.attrs.optInts("split"), optInts(ctx, 1), ctx.opset);
    const numOutputs = ctx.opset >= 18 ? ctx.attrs.optInt("num_outputs") : undefined;
    const sizes = splitSizes("Split", x.shape[axis]!, explicit, numOutputs, ctx.outputCount);
    const strides = stridesOf(x.shape);
    let offset = 0;
    return sizes.map((size, i) => {
      const start = offset;
      offset += size;
      if (ctx.node.outputs[i] === "") return null;
      const outShape = x.shape.map((d, a) => (a === axis ? size : d));
      return remap(x, outShape, (c) => {
        let j = 0;
        for (let a = 0; a < c.length; a++) j += (a === axis ? c[a]! + start : c[a]!) * strides[a]!;
        return j;
      });
    });
  },
};

// ---------------------------------------------------------------- Slice

/** First index and element count of slicing a dimension of size `dim` with ONNX clamping rules. */
export function sliceRange(dim: number, start: number, end: number, step: number): [number, number] {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return [start, Math.max(0, Math.ceil((end - start) / step))];
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return [start, Math.max(0, Math.ceil((start - end) / -step))];
}

interface SliceSpec { starts: number[]; ends: number[]; axes: number[]; steps: number[] }

export function sliceSpec(starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined, rank: number): SliceSpec {
  if (ends.length !== starts.length) throw new ModelError(`Slice: starts and ends have different lengths`);
  const ax = axes === undefined ? starts.map((_, i) => i) : normAxes(axes, rank, "Slice");
  if (ax.length !== starts.length) throw new ModelError(`Slice: axes and starts have different lengths`);
  checkUnique(ax, "Slice");
  const st = steps ?? starts.map(() => 1);
  if (st.length !== starts.length) throw new ModelError(`Slice: steps and starts have different lengths`);
  if (st.some((s) => s === 0)) throw new ModelError(`Slice: a step is 0`);
  return { starts, ends, axes: ax, steps: st };
}

/** Largest end that still means "to the end of the dimension" in exported models (INT32_MAX and above). */
const TO_END = 2 ** 31 - 1;

/**
 * Slice of a symbolic dim with step 1 or the full reversal; otherwise unknown. Like the usual
 * symbolic shape rules, this assumes the dim is at least as long as the bounds it is sliced with.
 */
function sliceSymbolic(ctx: InferContext, dim: string, start: number, end: number, step: number): Dim {
  if (step === -1 && start === -1 && end <= -TO_END) return dim;
  if (step !== 1) return ctx.fresh();
  const toEnd = end >= TO_END;
  if (start >= 0 && toEnd) return dimSub(dim, start);
  if (start >= 0 && end < 0 && end > -TO_END) return dimSub(dim, start - end);
  if (start < 0 && start > -TO_END && toEnd) return -start;
  if (start < 0 && end < 0 && end >= start) return end - start;
  return ctx.fresh();
}

const slice: OpDef = {
  name: "Slice",
  pattern: "injective",
  attrs: {
    starts: { type: "ints", until: 10 },
    ends: { type: "ints", until: 10 },
    axes: { type: "ints", until: 10 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const shape = x.shape;
    const rank = shape.length;
    let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
    let axesKnown = true;
    if (ctx.opset < 10) {
      starts = [...ctx.attrs.ints("starts")];
      ends = [...ctx.attrs.ints("ends")];
      axes = ctx.attrs.optInts("axes") ? [...ctx.attrs.optInts("axes")!] : undefined;
    } else {
      starts = constInts(ctx, 1);
      ends = constInts(ctx, 2);
      if (ctx.inputs[3]) { axes = constInts(ctx, 3); axesKnown = axes !== undefined; }
      if (ctx.inputs[4]) steps = constInts(ctx, 4);
    }
    if (starts === undefined || ends === undefined || (ctx.inputs[4] && steps === undefined) || !axesKnown) {
      // Only the sliced axes change; without knowing them, every dim may.
      const ax = axesKnown && axes !== undefined ? normAxes(axes, rank, "Slice")
        : axesKnown ? Array.from({ length: vectorLength(ctx.inputs[1]) ?? rank }, (_, i) => i) : shape.map((_, i) => i);
      return [{ dtype: x.dtype, shape: shape.map((d, i) => (ax.includes(i) ? ctx.fresh() : d)) }];
    }
    const spec = sliceSpec(starts, ends, axes, steps, rank);
    const out = [...shape];
    spec.axes.forEach((a, i) => {
      const d = shape[a]!;
      out[a] = typeof d === "number" ? sliceRange(d, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!)[1]
        : sliceSymbolic(ctx, d, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!);
    });
    return [{ dtype: x.dtype, shape: out }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Slice", 0);
    const spec = ctx.opset < 10
      ? sliceSpec([...ctx.attrs.ints("starts")], [...ctx.attrs.ints("ends")], ctx.attrs.optInts("axes") ? [...ctx.attrs.optInts("axes")!] : undefined, undefined, x.rank)
      : sliceSpec(req(ctx.inputs[1], "Slice", 1).ints(), req(ctx.inputs[2], "Slice", 2).ints(), optInts(ctx, 3), optInts(ctx, 4), x.rank);
    const first = x.shape.map(() => 0);
    const step = x.shape.map(() => 1);
    const outShape = [...x.shape];
    spec.axes.forEach((a, i) => {
      const [s, n] = sliceRange(x.shape[a]!, spec.starts[i]!, spec.ends[i]!, spec.steps[i]!);
      first[a] = s;
      step[a] = spec.steps[i]!;
      outShape[a] = n;
    });
    const strides = stridesOf(x.shape);
    return [remap(x, outShape, (c) => {
      let j = 0;
      for (let a = 0; a < c.length; a++) j += (first[a]! + c[a]! * step[a]!) * strides[a]!;
      return j;
    })];
  },
};

// ---------------------------------------------------------------- Pad

const PAD_MODES = ["constant", "reflect", "edge", "wrap"];

/** Full per-axis pads [begin..., end...] of length 2*rank from pads given for `axes` (all axes when undefined). */
export function fullPads(pads: readonly number[], axes: readonly number[] | undefined, rank: number): number[] {
  const ax = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : normAxes(axes, rank, "Pad");
  checkUnique(ax, "Pad");
  if (pads.length !== 2 * ax.length) throw new ModelError(`Pad: ${pads.length} pads for ${ax.length} axes`);
  const full = new Array<number>(2 * rank).fill(0);
  ax.forEach((a, i) => {
    full[a] = pads[i]!;
    full[a + rank] = pads[i + ax.length]!;
  });
  return full;
}

function padMode(ctx: { attrs: { string(n: string): string }; opset: number }): string {
  const mode = ctx.attrs.string("mode");
  if (!PAD_MODES.includes(mode) || (mode === "wrap" && ctx.opset < 19)) throw new ModelError(`Pad: unknown mode '${mode}'`);
  return mode;
}

/** Source coordinate for output position `o` along a dim of size `d` with `begin` padding, or -1 for the constant fill. */
function padSource(o: number, begin: number, d: number, mode: string): number {
  const c = o - begin;
  if (c >= 0 && c < d) return c;
  switch (mode) {
    case "edge": return c < 0 ? 0 : d - 1;
    case "wrap": return ((c % d) + d) % d;
    case "reflect": {
      if (d === 1) return 0;
      const period = 2 * (d - 1);
      const m = ((c % period) + period) % period;
      return m < d ? m : period - m;
    }
    default: return -1;
  }
}

const pad: OpDef = {
  name: "Pad",
  pattern: "injective",
  attrs: {
    mode: { type: "string", default: "constant", values: PAD_MODES },
    paddings: { type: "ints", until: 2 },
    pads: { type: "ints", since: 2, until: 11 },
    value: { type: "float", default: 0, until: 11 },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    padMode(ctx);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const shape = x.shape;
    let pads: readonly number[] | undefined;
    let axes: number[] | undefined;
    let axesKnown = true;
    if (ctx.opset < 11) pads = ctx.opset < 2 ? ctx.attrs.ints("paddings") : ctx.attrs.ints("pads");
    else {
      pads = constInts(ctx, 1);
      if (ctx.opset >= 18 && ctx.inputs[3]) { axes = constInts(ctx, 3); axesKnown = axes !== undefined; }
    }
    if (pads === undefined || !axesKnown) return [{ dtype: x.dtype, shape: shape.map(() => ctx.fresh()) }];
    const full = fullPads(pads, axes, shape.length);
    return [{ dtype: x.dtype, shape: shape.map((d, i) => dimAdd(d, full[i]! + full[i + shape.length]!)) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Pad", 0);
    const mode = padMode(ctx);
    let pads: readonly number[];
    let axes: number[] | undefined;
    let fill: number | bigint;
    if (ctx.opset < 11) {
      pads = ctx.opset < 2 ? ctx.attrs.ints("paddings") : ctx.attrs.ints("pads");
      fill = rawValue(x.dtype, ctx.attrs.float("value"));
    } else {
      pads = req(ctx.inputs[1], "Pad", 1).ints();
      const cv = ctx.inputs[2];
      fill = cv && cv.size > 0 ? rawValue(x.dtype, cv) : rawValue(x.dtype, 0);
      if (ctx.opset >= 18) axes = optInts(ctx, 3);
    }
    const rank = x.rank;
    const full = fullPads(pads, axes, rank);
    const outShape = x.shape.map((d, i) => d + full[i]! + full[i + rank]!);
    if (outShape.some((d) => d < 0)) throw new EvalError(`Pad: pads [${pads.join(",")}] crop more than the input shape [${x.shape.join(",")}]`);
    if (mode !== "constant" && x.shape.some((d, i) => d === 0 && outShape[i]! > 0)) {
      throw new EvalError(`Pad: mode ${mode} cannot pad an empty dimension`);
    }
    const strides = stridesOf(x.shape);
    return [remap(x, outShape, (c) => {
      let j = 0;
      for (let a = 0; a < rank; a++) {
        const s = padSource(c[a]!, full[a]!, x.shape[a]!, mode);
        if (s < 0) return -1;
        j += s * strides[a]!;
      }
      return j;
    }, fill)];
  },
};

// ---------------------------------------------------------------- Tile

/** Repeats per axis: the `repeats` input, or (Tile-1) a count for one axis. */
function tileRepeats(opset: number, rank: number, tiles: number[] | undefined, axis: number[] | undefined): number[] | undefined {
  if (opset >= 6) return tiles;
  if (tiles === undefined || axis === undefined) return undefined;
  if (tiles.length !== 1 || axis.length !== 1) throw new EvalError(`Tile-1: tiles [${tiles.join(",")}] and axis [${axis.join(",")}] must be single values`);
  const reps = new Array<number>(rank).fill(1);
  reps[normAxis(axis[0]!, rank, "Tile")] = tiles[0]!;
  return reps;
}

const tile: OpDef = {
  name: "Tile",
  pattern: "injective",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    // Tile-1 takes the axis as a third input.
    if (ctx.opset < 6) inputType(ctx, 2);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const reps = tileRepeats(ctx.opset, x.shape.length, constInts(ctx, 1), constInts(ctx, 2));
    if (reps === undefined) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.fresh()) }];
    if (reps.length !== x.shape.length) throw new ModelError(`Tile: ${reps.length} repeats for rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, reps[i]!)) }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Tile", 0);
    const axis = ctx.opset < 6 ? req(ctx.inputs[2], "Tile", 2).ints() : undefined;
    const reps = tileRepeats(ctx.opset, x.rank, req(ctx.inputs[1], "Tile", 1).ints(), axis)!;
    if (reps.length !== x.rank || reps.some((r) => r < 0)) throw new EvalError(`Tile: invalid repeats [${reps.join(",")}] for shape [${x.shape.join(",")}]`);
    return [tiled(x, reps)];
  },
};

/**
 * `x` repeated reps[a] times along each axis a. Each axis's first copy is built (rows of the input on
 * the innermost axis), then duplicated whole: block copies rather than an index computed per element,
 * as tiles easily reach millions of elements.
 */
function tiled(x: Tensor, reps: readonly number[]): Tensor {
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  checkShape(outShape, "Tile output");
  // Storage of any dtype copied as is; Float32Array stands for whichever typed array it is.
  const out = DTYPE_INFO[x.dtype].make(shapeSize(outShape)) as Float32Array;
  const src = x.data as Float32Array;
  if (out.length === 0) return new Tensor(x.dtype, outShape, out);
  const rank = x.rank, inStrides = stridesOf(x.shape), outStrides = stridesOf(outShape);
  const fill = (axis: number, inOff: number, outOff: number): void => {
    const d = x.shape[axis]!;
    if (axis === rank - 1) out.set(src.subarray(inOff, inOff + d), outOff);
    else for (let i = 0; i < d; i++) fill(axis + 1, inOff + i * inStrides[axis]!, outOff + i * outStrides[axis]!);
    const len = d * outStrides[axis]!;
    for (let k = 1; k < reps[axis]!; k++) out.copyWithin(outOff + k * len, outOff, outOff + len);
  };
  if (rank === 0) out.set(src);
  else fill(0, 0, 0);
  return new Tensor(x.dtype, outShape, out);
}

// ---------------------------------------------------------------- DepthToSpace / SpaceToDepth

function blocksize(ctx: InferContext | EvalContext, op: string): number {
  const b = ctx.attrs.int("blocksize");
  if (!Number.isInteger(b) || b < 1) throw new ModelError(`${op}: blocksize ${b} must be positive`);
  return b;
}

function need4d(shape: readonly unknown[], op: string): void {
  if (shape.length !== 4) throw new ModelError(`${op}: input must be 4-D, got rank ${shape.length}`);
}

function depthMode(ctx: InferContext | EvalContext): string {
  return ctx.attrs.string("mode");
}

const depthToSpace: OpDef = {
  name: "DepthToSpace",
  pattern: "injective",
  attrs: { blocksize: { type: "int", required: true }, mode: { type: "string", default: "DCR", since: 11, values: ["DCR", "CRD"] } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const b = blocksize(ctx, "DepthToSpace");
    depthMode(ctx);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    need4d(x.shape, "DepthToSpace");
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    if (typeof c === "number" && c % (b * b) !== 0) throw new ModelError(`DepthToSpace: channels ${c} not divisible by blocksize^2 ${b * b}`);
    return [{ dtype: x.dtype, shape: [n, dimDiv(c, b * b), dimMul(h, b), dimMul(w, b)] }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "DepthToSpace", 0);
    const b = blocksize(ctx, "DepthToSpace");
    const dcr = depthMode(ctx) === "DCR";
    need4d(x.shape, "DepthToSpace");
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (c % (b * b) !== 0) throw new EvalError(`DepthToSpace: channels ${c} not divisible by blocksize^2 ${b * b}`);
    const oc = c / (b * b);
    return [remap(x, [n, oc, h * b, w * b], ([bn, co, y, xx]) => {
      const i = y! % b, j = xx! % b;
      const ci = dcr ? (i * b + j) * oc + co! : co! * b * b + i * b + j;
      return ((bn! * c + ci) * h + Math.floor(y! / b)) * w + Math.floor(xx! / b);
    })];
  },
};

const spaceToDepth: OpDef = {
  name: "SpaceToDepth",
  pattern: "injective",
  attrs: { blocksize: { type: "int", required: true } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const b = blocksize(ctx, "SpaceToDepth");
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    need4d(x.shape, "SpaceToDepth");
    const [n, c, h, w] = x.shape as [Dim, Dim, Dim, Dim];
    for (const d of [h, w]) {
      if (typeof d === "number" && d % b !== 0) throw new ModelError(`SpaceToDepth: spatial size ${d} not divisible by blocksize ${b}`);
    }
    return [{ dtype: x.dtype, shape: [n, dimMul(c, b * b), dimDiv(h, b), dimDiv(w, b)] }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "SpaceToDepth", 0);
    const b = blocksize(ctx, "SpaceToDepth");
    need4d(x.shape, "SpaceToDepth");
    const [n, c, h, w] = x.shape as [number, number, number, number];
    if (h % b !== 0 || w % b !== 0) throw new EvalError(`SpaceToDepth: spatial shape ${h}x${w} not divisible by blocksize ${b}`);
    return [remap(x, [n, c * b * b, h / b, w / b], ([bn, co, y, xx]) => {
      const ci = co! % c, blk = Math.floor(co! / c);
      const i = Math.floor(blk / b), j = blk % b;
      return ((bn! * c + ci) * h + y! * b + i) * w + xx! * b + j;
    })];
  },
};

// ---------------------------------------------------------------- ReverseSequence

const reverseSequence: OpDef = {
  name: "ReverseSequence",
  pattern: "injective",
  attrs: { batch_axis: { type: "int", default: 1 }, time_axis: { type: "int", default: 0 } },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "ReverseSequence", 0);
    const lens = req(ctx.inputs[1], "ReverseSequence", 1).ints();
    const batch = normAxis(ctx.attrs.int("batch_axis"), x.rank, "ReverseSequence");
    const time = normAxis(ctx.attrs.int("time_axis"), x.rank, "ReverseSequence");
    if (batch === time) throw new ModelError(`ReverseSequence: batch_axis and time_axis are both ${batch}`);
    if (lens.length !== x.shape[batch]) throw new EvalError(`ReverseSequence: ${lens.length} sequence lengths for batch size ${x.shape[batch]}`);
    if (lens.some((l) => l < 0 || l > x.shape[time]!)) throw new EvalError(`ReverseSequence: sequence_lens [${lens.join(",")}] out of range for time size ${x.shape[time]}`);
    const strides = stridesOf(x.shape);
    return [remap(x, x.shape, (c) => {
      const len = lens[c[batch]!]!;
      let j = 0;
      for (let a = 0; a < c.length; a++) {
        const v = a === time && c[a]! < len ? len - 1 - c[a]! : c[a]!;
        j += v * strides[a]!;
      }
      return j;
    })];
  },
};

// ---------------------------------------------------------------- Trilu

const trilu: OpDef = {
  name: "Trilu",
  pattern: "injective",
  attrs: { upper: { type: "int", default: 1 } },
  infer: sameAsInput(0),
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Trilu", 0);
    if (x.rank < 2) throw new EvalError(`Trilu: input must have rank >= 2, got ${x.rank}`);
    const kt = ctx.inputs[1];
    const k = kt ? kt.ints()[0] ?? 0 : 0;
    const upper = ctx.attrs.int("upper") !== 0;
    const r = x.rank;
    const strides = stridesOf(x.shape);
    return [remap(x, x.shape, (c) => {
      const diff = c[r - 1]! - c[r - 2]!;
      const keep = upper ? diff >= k : diff <= k;
      return keep ? strides.reduce((s, st, a) => s + st * c[a]!, 0) : -1;
    })];
  },
};

// ---------------------------------------------------------------- CenterCropPad

function cropAxes(axes: readonly number[] | undefined, rank: number): number[] {
  const ax = axes === undefined ? Array.from({ length: rank }, (_, i) => i) : normAxes(axes, rank, "CenterCropPad");
  checkUnique(ax, "CenterCropPad");
  return ax;
}

const centerCropPad: OpDef = {
  name: "CenterCropPad",
  pattern: "injective",
  attrs: { axes: { type: "ints" } },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    const ax = cropAxes(ctx.attrs.optInts("axes"), x.shape.length);
    const target = constInts(ctx, 1);
    if (target !== undefined && target.length !== ax.length) throw new ModelError(`CenterCropPad: shape has ${target.length} entries for ${ax.length} axes`);
    const out = [...x.shape];
    ax.forEach((a, i) => { out[a] = target ? target[i]! : ctx.fresh(); });
    return [{ dtype: x.dtype, shape: out }];
  },
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "CenterCropPad", 0);
    const ax = cropAxes(ctx.attrs.optInts("axes"), x.rank);
    const target = req(ctx.inputs[1], "CenterCropPad", 1).ints();
    if (target.length !== ax.length) throw new EvalError(`CenterCropPad: shape has ${target.length} entries for ${ax.length} axes`);
    const outShape = [...x.shape];
    // Output coordinate o maps to input coordinate o + shift: crop shifts forward, pad backward.
    const shift = x.shape.map(() => 0);
    ax.forEach((a, i) => {
      const d = x.shape[a]!, s = target[i]!;
      outShape[a] = s;
      shift[a] = s < d ? Math.floor((d - s) / 2) : -Math.floor((s - d) / 2);
    });
    const strides = stridesOf(x.shape);
    return [remap(x, outShape, (c) => {
      let j = 0;
      for (let a = 0; a < c.length; a++) {
        const v = c[a]! + shift[a]!;
        if (v < 0 || v >= x.shape[a]!) return -1;
        j += v * strides[a]!;
      }
      return j;
    })];
  },
};

export const ops: OpDef[] = [
  transpose, concat, split, slice, pad, tile, depthToSpace, spaceToDepth, reverseSequence, trilu, centerCropPad,
];
