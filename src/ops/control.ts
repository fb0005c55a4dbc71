/** Constants, Identity and control flow (If, Loop, Scan). */
import { EvalError, LimitError, ModelError, UnsupportedError } from "../ir/errors.js";
import type { Graph } from "../ir/graph.js";
import { Tensor, checkShape, shapeSize, stridesOf } from "../ir/tensor.js";
import type { Dim, TensorType } from "../ir/types.js";
import type { EvalContext, InferContext, OpDef } from "./registry.js";
import { normAxis, req, sameAsInput } from "./util.js";

/**
 * Iterations one Loop may run unless the caller sets `maxLoopIterations`: a loop whose condition never
 * turns false, or an absurd trip count, then ends within seconds of reference evaluation, not hours.
 */
export const DEFAULT_MAX_LOOP_ITERATIONS = 100_000;

/** The tensor a Constant node holds, from whichever of its value attributes is set. */
function constantValue(ctx: Pick<EvalContext, "attrs" | "node">): Tensor {
  const a = ctx.attrs;
  const t = a.optTensor("value");
  if (t) return t;
  const f = a.optFloat("value_float");
  if (f !== undefined) return Tensor.scalar("float32", f);
  const fs = a.optFloats("value_floats");
  if (fs) return Tensor.fromNumbers("float32", [fs.length], fs);
  const i = a.optInt("value_int");
  if (i !== undefined) return Tensor.scalar("int64", i);
  const is = a.optInts("value_ints");
  if (is) return Tensor.fromNumbers("int64", [is.length], is);
  if (a.has("value_string") || a.has("value_strings")) throw new UnsupportedError("Constant: string tensors are not supported", "dtype string");
  if (a.has("sparse_value")) throw new UnsupportedError("Constant: sparse tensors are not supported", "sparse tensors");
  throw new ModelError(`Constant${ctx.node.name ? ` "${ctx.node.name}"` : ""}: no value attribute`);
}

const constant: OpDef = {
  name: "Constant",
  pattern: "opaque",
  attrs: {
    value: { type: "tensor" },
    value_float: { type: "float", since: 12 },
    value_floats: { type: "floats", since: 12 },
    value_int: { type: "int", since: 12 },
    value_ints: { type: "ints", since: 12 },
    value_string: { type: "string", since: 12 },
    value_strings: { type: "strings", since: 12 },
    sparse_value: { type: "tensor", since: 11 },
  },
  infer: (ctx) => {
    const t = constantValue(ctx);
    return [{ dtype: t.dtype, shape: t.shape }];
  },
  evaluate: (ctx) => [constantValue(ctx)],
};

const identity: OpDef = {
  name: "Identity",
  pattern: "injective",
  attrs: {},
  infer: sameAsInput(0),
  evaluate: (ctx) => [req(ctx.inputs[0], "Identity", 0)],
};

/** Where two branches disagree on a dimension, the result's dimension is unknown. */
function joinTypes(ctx: InferContext, a: TensorType | null, b: TensorType | null): TensorType | null {
  if (!a || !b) return a ?? b;
  if (a.shape === null || b.shape === null || a.shape.length !== b.shape.length) return { dtype: a.dtype, shape: null };
  return { dtype: a.dtype, shape: a.shape.map((d, i) => (d === b.shape![i] ? d : ctx.fresh())) };
}

const ifOp: OpDef = {
  name: "If",
  pattern: "opaque",
  attrs: { then_branch: { type: "graph", required: true }, else_branch: { type: "graph", required: true } },
  infer: (ctx) => {
    // A condition known at compile time: the other branch never runs here, and may not even
    // type-check for these shapes (a branch written for another input size).
    const cond = ctx.constants[0];
    if (cond && cond.size === 1) return ctx.inferSubgraph(ctx.attrs.graph(cond.numbers()[0] ? "then_branch" : "else_branch"), []);
    const t = ctx.inferSubgraph(ctx.attrs.graph("then_branch"), []);
    const e = ctx.inferSubgraph(ctx.attrs.graph("else_branch"), []);
    return t.map((ti, i) => joinTypes(ctx, ti, e[i] ?? null));
  },
  evaluate: (ctx) => {
    const cond = req(ctx.inputs[0], "If", 0);
    if (cond.size !== 1) throw new EvalError(`If: the condition must hold one element, got shape [${cond.shape.join(",")}]`);
    const branch = cond.numbers()[0] ? ctx.attrs.graph("then_branch") : ctx.attrs.graph("else_branch");
    return ctx.runSubgraph(branch, []);
  },
};

/** Stack equally shaped tensors along a new axis. */
function stack(parts: readonly Tensor[], axis: number, elementType: TensorType | null): Tensor {
  if (parts.length === 0) {
    const shape = elementType?.shape?.map((d) => (typeof d === "number" ? d : 0)) ?? [];
    shape.splice(axis, 0, 0);
    return Tensor.zeros(elementType?.dtype ?? "float32", shape);
  }
  const first = parts[0]!;
  for (const p of parts) {
    if (p.shape.join(",") !== first.shape.join(",")) {
      throw new EvalError(`scan outputs change shape between iterations: [${first.shape.join(",")}] then [${p.shape.join(",")}]`);
    }
  }
  const outer = shapeSize(first.shape.slice(0, axis));
  const inner = shapeSize(first.shape.slice(axis));
  const shape = [...first.shape];
  shape.splice(axis, 0, parts.length);
  const out = Tensor.zeros(first.dtype, shape);
  const data = out.data as Float32Array;
  parts.forEach((p, k) => {
    for (let o = 0; o < outer; o++) {
      data.set((p.data as Float32Array).subarray(o * inner, (o + 1) * inner), (o * parts.length + k) * inner);
    }
  });
  return out;
}

/** Element `index` of `t` along `axis`, with that axis removed. */
function sliceAxis(t: Tensor, axis: number, index: number): Tensor {
  const outer = shapeSize(t.shape.slice(0, axis));
  const inner = stridesOf(t.shape)[axis]!;
  const len = t.shape[axis]!;
  const shape = t.shape.filter((_, i) => i !== axis);
  const out = Tensor.zeros(t.dtype, shape);
  const data = out.data as Float32Array;
  for (let o = 0; o < outer; o++) {
    data.set((t.data as Float32Array).subarray((o * len + index) * inner, (o * len + index + 1) * inner), o * inner);
  }
  return out;
}

/** The body takes (iteration, condition, N carried values) and returns (condition, N carried values, scan outputs...). */
function checkLoopBody(body: Graph, n: number): void {
  if (body.inputs.length !== 2 + n) throw new ModelError(`Loop: the body takes ${body.inputs.length} inputs, expected 2 + ${n} carried values`);
  if (body.outputs.length < 1 + n) throw new ModelError(`Loop: the body has ${body.outputs.length} outputs, fewer than the condition and ${n} carried values`);
}

/** The one value of the trip count or a condition. */
function loopScalar(t: Tensor, what: string): number {
  if (t.size !== 1) throw new EvalError(`Loop: ${what} must hold one element, got shape [${t.shape.join(",")}]`);
  return Number(t.dtype === "int64" ? t.bigints()[0] : t.numbers()[0]);
}

/**
 * Add one iteration's value of scan output k. Checked as it comes, not when stacking at the end:
 * a loop that runs on would otherwise hoard tensors that can never be stacked.
 */
function collectScan(parts: Tensor[], t: Tensor, k: number): void {
  const first = parts[0];
  if (first && first.shape.join(",") !== t.shape.join(",")) {
    throw new EvalError(`Loop: scan output ${k} changes shape between iterations: [${first.shape.join(",")}] then [${t.shape.join(",")}]`);
  }
  checkShape([parts.length + 1, ...t.shape], `Loop: scan output ${k} after ${parts.length + 1} iterations`);
  parts.push(t);
}

const loop: OpDef = {
  name: "Loop",
  pattern: "opaque",
  attrs: { body: { type: "graph", required: true } },
  infer: (ctx) => {
    const body = ctx.attrs.graph("body");
    const carried = ctx.inputs.slice(2);
    const n = carried.length;
    checkLoopBody(body, n);
    const outs = ctx.inferSubgraph(body, [{ dtype: "int64", shape: [] }, { dtype: "bool", shape: [] }, ...carried]);
    const finals = outs.slice(1, 1 + n).map((t, i) => joinTypes(ctx, t, carried[i] ?? null));
    const scans = outs.slice(1 + n).map((t) => (t && t.shape ? { dtype: t.dtype, shape: [ctx.fresh() as Dim, ...t.shape] } : t));
    return [...finals, ...scans];
  },
  evaluate: (ctx) => {
    const body = ctx.attrs.graph("body");
    const tripInput = ctx.inputs[0];
    const condInput = ctx.inputs[1];
    const maxTrips = tripInput ? loopScalar(tripInput, "the trip count M") : Infinity;
    let cond = condInput ? loopScalar(condInput, "the condition") !== 0 : true;
    let carried = ctx.inputs.slice(2).map((t, i) => req(t, "Loop", i + 2));
    const n = carried.length;
    checkLoopBody(body, n);
    const limit = ctx.maxLoopIterations ?? DEFAULT_MAX_LOOP_ITERATIONS;
    const scans: Tensor[][] = [];
    for (let i = 0; i < maxTrips && cond; i++) {
      if (i >= limit) {
        throw new LimitError(`Loop: still running after ${limit} iterations (trip count ${tripInput ? maxTrips : "none"}), the maxLoopIterations limit`);
      }
      const outs = ctx.runSubgraph(body, [Tensor.fromBigInts("int64", [], [BigInt(i)]), Tensor.fromNumbers("bool", [], [cond ? 1 : 0]), ...carried]);
      cond = loopScalar(outs[0]!, "the body's condition output") !== 0;
      carried = outs.slice(1, 1 + n);
      outs.slice(1 + n).forEach((t, k) => collectScan(scans[k] ??= [], t, k));
    }
    const scanCount = body.outputs.length - 1 - n;
    const stacked = Array.from({ length: scanCount }, (_, k) => stack(scans[k] ?? [], 0, body.outputs[1 + n + k]?.type ?? null));
    return [...carried, ...stacked];
  },
};

interface ScanLayout {
  readonly numStates: number;
  readonly inputAxes: number[];
  readonly inputReverse: boolean[];
  readonly outputAxes: number[];
  readonly outputReverse: boolean[];
}

function scanLayout(ctx: Pick<EvalContext, "attrs" | "node" | "opset">, states: number, scanInputs: number, scanOutputs: number): ScanLayout {
  const a = ctx.attrs;
  const dirsIn = ctx.opset < 9 ? a.optInts("directions") : a.optInts("scan_input_directions");
  return {
    numStates: states,
    inputAxes: Array.from({ length: scanInputs }, (_, i) => a.optInts("scan_input_axes")?.[i] ?? 0),
    inputReverse: Array.from({ length: scanInputs }, (_, i) => (dirsIn?.[i] ?? 0) === 1),
    outputAxes: Array.from({ length: scanOutputs }, (_, i) => a.optInts("scan_output_axes")?.[i] ?? 0),
    outputReverse: Array.from({ length: scanOutputs }, (_, i) => (a.optInts("scan_output_directions")?.[i] ?? 0) === 1),
  };
}

/**
 * How many of the node's `inputs` (after Scan-8's sequence_lens) are scan inputs and how many are states,
 * checked against the attribute and the body, before any array is sized by them.
 */
function scanCounts(ctx: Pick<EvalContext, "attrs">, inputs: number, body: Graph): { m: number; n: number } {
  const m = ctx.attrs.int("num_scan_inputs");
  if (!Number.isInteger(m) || m < 1 || m > inputs) throw new ModelError(`Scan: num_scan_inputs ${m} must be between 1 and the node's ${inputs} inputs`);
  const n = inputs - m;
  if (body.inputs.length !== inputs) throw new ModelError(`Scan: the body takes ${body.inputs.length} inputs, but the node passes ${n} states and ${m} scan inputs`);
  if (body.outputs.length < n) throw new ModelError(`Scan: the body has ${body.outputs.length} outputs, fewer than the ${n} states`);
  return { m, n };
}

/** One scan (opset 9 semantics) over unbatched inputs. */
function runScan(ctx: EvalContext, body: Graph, states: Tensor[], scanInputs: Tensor[], layout: ScanLayout): Tensor[] {
  const axes = scanInputs.map((t, i) => normAxis(layout.inputAxes[i]!, t.rank, "Scan"));
  const lengths = scanInputs.map((t, i) => t.shape[axes[i]!]!);
  const steps = lengths[0] ?? 0;
  if (lengths.some((l) => l !== steps)) throw new EvalError(`Scan: scan inputs have different lengths ${lengths.join(", ")}`);
  const scanOutputCount = body.outputs.length - states.length;
  const collected: Tensor[][] = Array.from({ length: scanOutputCount }, () => []);
  for (let t = 0; t < steps; t++) {
    const slices = scanInputs.map((x, i) => sliceAxis(x, axes[i]!, layout.inputReverse[i] ? steps - 1 - t : t));
    const outs = ctx.runSubgraph(body, [...states, ...slices]);
    states = outs.slice(0, states.length);
    outs.slice(states.length).forEach((o, k) => collected[k]!.push(o));
  }
  const scans = collected.map((parts, k) => {
    const ordered = layout.outputReverse[k] ? [...parts].reverse() : parts;
    const elemType = body.outputs[states.length + k]?.type ?? null;
    const rank = (ordered[0]?.rank ?? elemType?.shape?.length ?? 0) + 1;
    return stack(ordered, normAxis(layout.outputAxes[k]!, rank, "Scan"), elemType);
  });
  return [...states, ...scans];
}

const scan: OpDef = {
  name: "Scan",
  pattern: "opaque",
  attrs: {
    body: { type: "graph", required: true },
    num_scan_inputs: { type: "int", required: true },
    directions: { type: "ints", until: 9 },
    scan_input_axes: { type: "ints", since: 9 },
    scan_input_directions: { type: "ints", since: 9 },
    scan_output_axes: { type: "ints", since: 9 },
    scan_output_directions: { type: "ints", since: 9 },
  },
  infer: (ctx) => {
    const body = ctx.attrs.graph("body");
    const batched = ctx.opset < 9;
    const ins = batched ? ctx.inputs.slice(1) : ctx.inputs;
    const { m, n } = scanCounts(ctx, ins.length, body);
    const drop = (t: TensorType | null, axis: number) =>
      t && t.shape ? { dtype: t.dtype, shape: t.shape.filter((_, i) => i !== normAxis(axis, t.shape!.length, "Scan")) } : t;
    const layout = scanLayout(ctx, n, m, 0);
    const stateTypes = ins.slice(0, n).map((t) => (batched ? drop(t, 0) : t));
    const scanTypes = ins.slice(n).map((t, i) => (batched ? drop(drop(t, 0), 0) : drop(t, layout.inputAxes[i]!)));
    const outs = ctx.inferSubgraph(body, [...stateTypes, ...scanTypes]);
    const outLayout = scanLayout(ctx, n, m, outs.length - n);
    const batch: Dim[] = batched && ins[0]?.shape ? [ins[0].shape[0]!] : [];
    return outs.map((t, k) => {
      if (!t || !t.shape) return t;
      if (k < n) return { dtype: t.dtype, shape: [...batch, ...t.shape] };
      const shape: Dim[] = [...t.shape];
      shape.splice(normAxis(outLayout.outputAxes[k - n]!, shape.length + 1, "Scan"), 0, ctx.fresh());
      return { dtype: t.dtype, shape: [...batch, ...shape] };
    });
  },
  evaluate: (ctx) => {
    const body = ctx.attrs.graph("body");
    if (ctx.opset >= 9) {
      const ins = ctx.inputs.map((t, i) => req(t, "Scan", i));
      const { m, n } = scanCounts(ctx, ins.length, body);
      return runScan(ctx, body, ins.slice(0, n), ins.slice(n), scanLayout(ctx, n, m, body.outputs.length - n));
    }
    // Opset 8: a leading batch axis on every input, an optional sequence_lens first input.
    if (ctx.inputs[0]) throw new UnsupportedError("Scan-8: sequence_lens is not supported", "Scan-8 sequence_lens");
    const ins = ctx.inputs.slice(1).map((t, i) => req(t, "Scan", i + 1));
    const { m, n } = scanCounts(ctx, ins.length, body);
    const batch = ins[0]?.shape[0] ?? 0;
    const layout = scanLayout(ctx, n, m, body.outputs.length - n);
    const perBatch = Array.from({ length: batch }, (_, b) => {
      const items = ins.map((t) => sliceAxis(t, 0, b));
      return runScan(ctx, body, items.slice(0, n), items.slice(n), layout);
    });
    return Array.from({ length: body.outputs.length }, (_, k) => stack(perBatch.map((r) => r[k]!), 0, null));
  },
};

export const ops: OpDef[] = [constant, identity, ifOp, loop, scan];
