/**
 * Everything else the conformance suite needs: TfIdfVectorizer, ai.onnx.ml ops and Einsum.
 * Bernoulli is deliberately absent: its conformance outputs come from numpy's global random
 * stream, which no seeded implementation reproduces.
 */
import { isInt } from "../ir/dtype.js";
import { EvalError, ModelError, UnsupportedError } from "../ir/errors.js";
import { Tensor, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { OpDef } from "./registry.js";
import { broadcastDims, inputType, mapUnary, req } from "./util.js";

/** TfIdfVectorizer settings shared by inference and evaluation. */
function tfidfOutputSize(ngramIndexes: readonly number[]): number {
  return ngramIndexes.length === 0 ? 0 : Math.max(...ngramIndexes) + 1;
}

const tfIdfVectorizer: OpDef = {
  name: "TfIdfVectorizer",
  pattern: "opaque",
  attrs: {
    max_gram_length: { type: "int", required: true },
    max_skip_count: { type: "int", required: true },
    min_gram_length: { type: "int", required: true },
    mode: { type: "string", required: true, values: ["TF", "IDF", "TFIDF"] },
    ngram_counts: { type: "ints", required: true },
    ngram_indexes: { type: "ints", required: true },
    pool_int64s: { type: "ints" },
    pool_strings: { type: "strings" },
    weights: { type: "floats" },
  },
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const size = tfidfOutputSize(ctx.attrs.ints("ngram_indexes"));
    if (x.shape === null) return [{ dtype: "float32", shape: null }];
    return [{ dtype: "float32", shape: x.shape.length === 2 ? [x.shape[0]!, size] : [size] }];
  },
  evaluate: (ctx) => {
    const op = "TfIdfVectorizer";
    const x = req(ctx.inputs[0], op, 0);
    const a = ctx.attrs;
    if (!isInt(x.dtype)) throw new ModelError(`${op}: input must be int32 or int64, got ${x.dtype}`);
    const pool = a.optInts("pool_int64s");
    if (pool === undefined) throw new UnsupportedError(`${op}: only pool_int64s is supported (string tensors are not)`, `${op} pool_strings`);
    const minN = a.int("min_gram_length");
    const maxN = a.int("max_gram_length");
    const maxSkip = a.int("max_skip_count");
    const mode = a.string("mode");
    const counts = a.ints("ngram_counts");
    const indexes = a.ints("ngram_indexes");
    const weights = a.optFloats("weights") ?? [];
    const outSize = tfidfOutputSize(indexes);
    if (minN < 1 || maxN < minN || maxSkip < 0) throw new ModelError(`${op}: invalid gram lengths [${minN}, ${maxN}] or skip count ${maxSkip}`);

    // Pool n-grams, numbered in pool order across all lengths; key "n:v1,v2,..." -> output index.
    const grams = new Map<string, number>();
    let gramId = 0;
    for (let i = 0; i < counts.length; i++) {
      const n = i + 1;
      const start = counts[i]!;
      const end = i + 1 < counts.length ? counts[i + 1]! : pool.length;
      for (let p = start; p + n <= end; p += n) {
        if (n >= minN && n <= maxN) {
          const out = indexes[gramId];
          if (out === undefined) throw new ModelError(`${op}: ngram_indexes has no entry for pool n-gram ${gramId}`);
          grams.set(`${n}:${pool.slice(p, p + n).join(",")}`, out);
        }
        gramId++;
      }
    }

    if (x.rank > 2) throw new EvalError(`${op}: input must be [C] or [N, C], got [${x.shape.join(",")}]`);
    const rows = x.rank === 2 ? x.shape[0]! : 1;
    const C = x.rank === 0 ? 1 : x.shape[x.rank - 1]!;
    const v = x.numbers();
    const freq = new Float64Array(rows * outSize);
    for (let r = 0; r < rows; r++) {
      const row = v.subarray(r * C, (r + 1) * C);
      // Unigrams do not depend on the skip distance, so they are counted for distance 1 only.
      for (let skip = 1; skip <= maxSkip + 1; skip++) {
        const lo = skip === 1 ? minN : Math.max(minN, 2);
        for (let start = 0; start < C; start++) {
          for (let n = lo; n <= maxN; n++) {
            const last = start + (n - 1) * skip;
            if (last >= C) break;
            const items: number[] = [];
            for (let j = 0; j < n; j++) items.push(row[start + j * skip]!);
            const out = grams.get(`${n}:${items.join(",")}`);
            if (out !== undefined) freq[r * outSize + out]!++;
          }
        }
      }
    }
    const y = new Float64Array(rows * outSize);
    for (let k = 0; k < y.length; k++) {
      const f = freq[k]!;
      const w = weights.length > 0 ? weights[k % outSize]! : 1;
      y[k] = mode === "TF" ? f : mode === "IDF" ? (f > 0 ? w : 0) : f * w;
    }
    return [Tensor.fromNumbers("float32", x.rank === 2 ? [rows, outSize] : [outSize], y)];
  },
};

const binarizer: OpDef = {
  name: "ai.onnx.ml:Binarizer",
  pattern: "elementwise",
  attrs: { threshold: { type: "float", default: 0 } },
  infer: (ctx) => [inputType(ctx, 0)],
  evaluate: (ctx) => {
    const x = req(ctx.inputs[0], "Binarizer", 0);
    const th = ctx.attrs.float("threshold");
    return [mapUnary(x, x.dtype, (v) => (v > th ? 1 : 0))];
  },
};

/** Gathers `indices` from the last axis; a rank-1 X gives a [1, k] result, as onnxruntime does. */
const arrayFeatureExtractor: OpDef = {
  name: "ai.onnx.ml:ArrayFeatureExtractor",
  pattern: "injective",
  attrs: {},
  infer: (ctx) => {
    const x = inputType(ctx, 0);
    const y = inputType(ctx, 1);
    const k: Dim = y.shape === null ? ctx.fresh() : y.shape.every((d) => typeof d === "number")
      ? (y.shape as number[]).reduce((p, d) => p * d, 1) : ctx.fresh();
    if (x.shape === null) return [{ dtype: x.dtype, shape: null }];
    return [{ dtype: x.dtype, shape: x.shape.length <= 1 ? [1, k] : [...x.shape.slice(0, -1), k] }];
  },
  evaluate: (ctx) => {
    const op = "ArrayFeatureExtractor";
    const x = req(ctx.inputs[0], op, 0);
    const idx = req(ctx.inputs[1], op, 1).ints();
    const N = x.rank === 0 ? 1 : x.shape[x.rank - 1]!;
    const rows = x.size / N;
    for (const i of idx) if (!Number.isInteger(i) || i < 0 || i >= N) throw new EvalError(`${op}: index ${i} is out of range for a last axis of ${N}`);
    const shape = x.rank <= 1 ? [1, idx.length] : [...x.shape.slice(0, -1), idx.length];
    // Copy storage elements directly so int64 values and float16 bits pass through exactly.
    const out = new (x.data.constructor as new (n: number) => typeof x.data)(rows * idx.length);
    for (let r = 0; r < rows; r++) idx.forEach((i, j) => { out[r * idx.length + j] = x.data[r * N + i]!; });
    return [new Tensor(x.dtype, shape, out)];
  },
};

/** A parsed einsum equation: per-operand labels (ellipsis dims become labels "0", "1", ... counted from the right) and output labels. */
interface Einsum {
  readonly terms: string[][];
  readonly output: string[];
}

function parseTerm(term: string, rank: number | null, op: string): { labels: string[]; ellipsisRank: number } {
  const parts = term.split("...");
  if (parts.length > 2) throw new ModelError(`${op}: more than one ellipsis in term '${term}'`);
  for (const c of parts.join("")) if (!/[A-Za-z]/.test(c)) throw new ModelError(`${op}: invalid label '${c}' in '${term}'`);
  const letters = parts.join("").length;
  if (parts.length === 1) {
    if (rank !== null && rank !== letters) throw new ModelError(`${op}: term '${term}' has ${letters} labels for an input of rank ${rank}`);
    return { labels: [...term], ellipsisRank: 0 };
  }
  if (rank === null) throw new ModelError(`${op}: ellipsis needs a known input rank`);
  const e = rank - letters;
  if (e < 0) throw new ModelError(`${op}: term '${term}' has more labels than the input rank ${rank}`);
  const ell = Array.from({ length: e }, (_, i) => String(e - 1 - i));
  return { labels: [...parts[0]!, ...ell, ...parts[1]!], ellipsisRank: e };
}

function parseEinsum(equation: string, ranks: readonly number[], op = "Einsum"): Einsum {
  const eq = equation.replace(/\s+/g, "");
  const arrow = eq.indexOf("->");
  const lhs = arrow < 0 ? eq : eq.slice(0, arrow);
  const termStrs = lhs.split(",");
  if (termStrs.length !== ranks.length) throw new ModelError(`${op}: equation '${equation}' has ${termStrs.length} terms for ${ranks.length} inputs`);
  const parsed = termStrs.map((t, i) => parseTerm(t, ranks[i]!, op));
  const maxEll = Math.max(0, ...parsed.map((p) => p.ellipsisRank));
  const ellLabels = Array.from({ length: maxEll }, (_, i) => String(maxEll - 1 - i));
  let output: string[];
  if (arrow >= 0) {
    const rhs = eq.slice(arrow + 2);
    const parts = rhs.split("...");
    if (parts.length > 2) throw new ModelError(`${op}: more than one ellipsis in the output of '${equation}'`);
    if (parts.length === 1 && maxEll > 0) throw new ModelError(`${op}: '${equation}' has ellipsis dims in its inputs but no '...' in its output`);
    output = parts.length === 1 ? [...rhs] : [...parts[0]!, ...ellLabels, ...parts[1]!];
    const seen = new Set<string>();
    for (const l of output) {
      if (seen.has(l)) throw new ModelError(`${op}: output label '${l}' repeats in '${equation}'`);
      seen.add(l);
      if (!/[0-9]/.test(l) && !parsed.some((p) => p.labels.includes(l))) throw new ModelError(`${op}: output label '${l}' is not in any input of '${equation}'`);
    }
  } else {
    // Implicit mode: broadcast dims, then the letters used exactly once, in alphabetical order.
    const count = new Map<string, number>();
    for (const p of parsed) for (const l of p.labels) if (!/[0-9]/.test(l)) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...ellLabels, ...[...count.keys()].filter((l) => count.get(l) === 1).sort()];
  }
  return { terms: parsed.map((p) => p.labels), output };
}

const einsum: OpDef = {
  name: "Einsum",
  pattern: "opaque",
  attrs: { equation: { type: "string", required: true } },
  infer: (ctx) => {
    const ins = ctx.inputs.map((_, i) => inputType(ctx, i));
    if (ins.some((t) => t.shape === null)) return [{ dtype: ins[0]!.dtype, shape: null }];
    const shapes = ins.map((t) => t.shape!);
    const eq = parseEinsum(ctx.attrs.string("equation"), shapes.map((s) => s.length));
    const dims = new Map<string, Dim[]>();
    eq.terms.forEach((labels, i) => labels.forEach((l, j) => {
      const list = dims.get(l) ?? [];
      list.push(shapes[i]![j]!);
      dims.set(l, list);
    }));
    // Each label's size broadcasts across its occurrences (a size-1 dim stretches, as in numpy).
    const shape = eq.output.map((l) => broadcastDims((dims.get(l) ?? [1]).map((d) => [d]))![0]!);
    return [{ dtype: ins[0]!.dtype, shape } satisfies TensorType];
  },
  evaluate: (ctx) => {
    const op = "Einsum";
    const xs = ctx.inputs.map((t, i) => req(t, op, i));
    if (xs.length === 0) throw new ModelError(`${op}: needs at least one input`);
    const eq = parseEinsum(ctx.attrs.string("equation"), xs.map((x) => x.rank));
    const size = new Map<string, number>();
    eq.terms.forEach((labels, i) => labels.forEach((l, j) => {
      const d = xs[i]!.shape[j]!;
      const prev = size.get(l);
      // Size-1 dims broadcast against any size, as in numpy.
      if (prev === undefined || prev === 1) size.set(l, d);
      else if (d !== prev && d !== 1) throw new EvalError(`${op}: label '${l}' has sizes ${prev} and ${d}`);
    }));
    const all = [...eq.output, ...[...size.keys()].filter((l) => !eq.output.includes(l))];
    const allSizes = all.map((l) => size.get(l) ?? 1);
    const outShape = eq.output.map((l) => size.get(l) ?? 1);
    const outSize = shapeSize(outShape);
    const reduceSize = shapeSize(allSizes.slice(eq.output.length));
    // Per operand, the stride each label contributes (summed when a label repeats: a diagonal; 0 for a broadcast 1).
    const strides = xs.map((x, i) => {
      const st = stridesOf(x.shape);
      return all.map((l) => eq.terms[i]!.reduce((acc, tl, j) => (tl === l && x.shape[j] !== 1 ? acc + st[j]! : acc), 0));
    });
    const vals = xs.map((x) => x.numbers());
    const out = new Float64Array(outSize);
    const counter = new Array<number>(all.length).fill(0);
    const offs = new Array<number>(xs.length).fill(0);
    for (let o = 0; o < outSize; o++) {
      let acc = 0;
      for (let r = 0; r < reduceSize; r++) {
        let p = 1;
        for (let i = 0; i < xs.length; i++) p *= vals[i]![offs[i]!]!;
        acc += p;
        // Advance the multi-index over all labels (output labels are the slow ones).
        for (let d = all.length - 1; d >= 0; d--) {
          counter[d]!++;
          for (let i = 0; i < xs.length; i++) offs[i]! += strides[i]![d]!;
          if (counter[d]! < allSizes[d]!) break;
          for (let i = 0; i < xs.length; i++) offs[i]! -= strides[i]![d]! * counter[d]!;
          counter[d] = 0;
        }
      }
      out[o] = acc;
    }
    return [Tensor.fromNumbers(xs[0]!.dtype, outShape, out)];
  },
};

export const ops: OpDef[] = [tfIdfVectorizer, binarizer, arrayFeatureExtractor, einsum];
