/**
 * MatMul/Gemm as a kernel: the product as a reduction stage and the epilogue (bias, activation,
 * residual) applied to each accumulated element. The schedule computes one output row per
 * parallel iteration, vectorized along the columns.
 */
import { type Tensor, compute, reduceAxis, reduceSum } from "../loopir/compute.js";
import { type Expr, type Var, lit, mul } from "../loopir/expr.js";
import type { Step } from "../loopir/schedule.js";

export interface Kernel { readonly outputs: readonly Tensor[]; readonly steps: readonly Step[] }

export interface GemmSpec {
  readonly name: string;
  readonly a: Tensor;
  readonly b: Tensor;
  readonly transA?: boolean;
  readonly transB?: boolean;
  /** Batch dims of the output; a's and b's batch dims are equal to them or 1 (broadcast). */
  readonly batch?: readonly number[];
  /** Elementwise ops after the reduction, given the accumulated value and the output index. */
  readonly epilogue?: (acc: Expr, index: readonly Var[]) => Expr;
}

/** Index into an operand's batch dims for the output's batch index (broadcast dims read 0). */
function batchIndex(t: Tensor, batch: readonly Var[]): Expr[] {
  const dims = t.shape.slice(0, -2);
  const offset = batch.length - dims.length;
  return dims.map((d, j) => (d === 1 ? lit(0, "int") : batch[offset + j]!));
}

export function gemmKernel(spec: GemmSpec): Kernel {
  const { a, b, name } = spec;
  const batch = spec.batch ?? [];
  const ra = a.shape.length, rb = b.shape.length;
  const M = spec.transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = spec.transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = spec.transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const k = reduceAxis(K, "k");
  const shape = [...batch, M, N];
  const acc = compute(`${name}.acc`, shape, (...index) => {
    const bi = index.slice(0, -2), i = index[index.length - 2]!, j = index[index.length - 1]!;
    const av = a.at(...batchIndex(a, bi), ...(spec.transA ? [k.v, i] : [i, k.v]));
    const bv = b.at(...batchIndex(b, bi), ...(spec.transB ? [j, k.v] : [k.v, j]));
    return reduceSum(mul(av, bv), [k]);
  });
  const out = compute(name, shape, (...index) => (spec.epilogue ? spec.epilogue(acc.at(...index), index) : acc.at(...index)));
  const r = shape.length;
  const axis = (d: number) => `i${d}`;
  const steps: Step[] = [];
  // Rows (batch dims fused with i) in parallel; each computes its row of the product locally.
  let rows = axis(0);
  for (let d = 1; d < r - 1; d++) {
    steps.push({ kind: "fuse", stage: name, outer: rows, inner: axis(d) });
    rows = `${rows}.${axis(d)}.fused`;
  }
  const j = axis(r - 1);
  steps.push({ kind: "parallel", stage: name, loop: rows });
  steps.push({ kind: "compute_at", stage: acc.name, consumer: name, loop: rows });
  steps.push({ kind: "reorder", stage: acc.name, loops: ["k", j] });
  if (N % 4 === 0) {
    for (const stage of [acc.name, name]) {
      steps.push({ kind: "split", stage, loop: j, factor: 4 });
      steps.push({ kind: "vectorize", stage, loop: `${j}.inner` });
    }
  }
  return { outputs: [out], steps };
}
