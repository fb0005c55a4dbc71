/**
 * The default GEMM kernel: tensor expressions plus a schedule for a register-blocked matrix
 * product with an elementwise epilogue, for the wasm back end.
 *
 * out = epilogue(acc) where acc[b..., i, j] = sum_k A[b..., i, k] * B[b..., k, j] is computed one
 * MR x NR tile at a time (compute_at at the tile loop) with its spatial loops inside k, unrolled
 * and vectorized, so the tile lives in MR * NR/4 v128 registers (register-plan.ts) and every k
 * step is MR broadcasts, NR/4 loads and MR * NR/4 multiply-adds. The tile is padded up to whole
 * tiles; operands are packed into zero-padded panels when a tail needs the padding, when B is
 * transposed (its rows must be contiguous for f32x4 loads), or, for B, when enough row tiles
 * reuse each panel to pay for the copy. Column panels are the outer, parallel loop (fused with
 * the batch loops), so a panel of B stays in cache while the row tiles pass over it; with many
 * panels they go in blocks (the parallel loop over blocks, row tiles, then the block's panels)
 * so that a row tile of A is reused from L1 by the whole block, and each block's panels are
 * packed inside the parallel loop (compute_at at the block loop), by the worker that uses them.
 *
 * The micro-kernel shape: V8 keeps this tile's k step in registers (8 accumulators, 2 vectors
 * of B, a broadcast of A, no spills; ~78% of the measured peak with data in cache) only when
 * each of the 6 distinct values is loaded once per step. That is not a schedule decision but an
 * emitter one, so it lives in the wasm emitter as load reuse within an unrolled straight-line
 * loop body (kernel-emitter.ts, cachedLoad) rather than as a tensorize intrinsic: the schedule
 * stays plain loop IR (tile, unroll, vectorize, compute_at), every backend and the interpreter
 * run it unchanged, and convolutions (schedule-conv.ts) get the same inner loop for free.
 * Measured alternatives in the standalone experiment, all slower on this machine: A as one v128
 * with lanes shuffled into broadcasts (XNNPACK's form), k unrolled by 2 or 4 by hand (more
 * live loads, which V8 schedules ahead and spills), a pointer-compare loop exit, and 9, 10 or
 * 12 accumulators.
 */
import { type Tensor, compute, reduceAxis, reduceSum } from "../loopir/compute.js";
import { type Expr, type Var, add, div, lit, lt, mod, mul, select } from "../loopir/expr.js";
import { KilnError } from "../ir/errors.js";
import type { Step } from "../loopir/schedule.js";

export interface Kernel { readonly outputs: readonly Tensor[]; readonly steps: readonly Step[] }

/** Accumulators in the register tile: 8 of the 15 usable v128 registers (PERF-NOTES). */
const ACCUMULATORS = 8;
const LANES = 4;
/** Packed B panels per block of the parallel loop: at most this many bytes (half of L2), and
 *  at least this many blocks when there are enough panels. */
const PANEL_BLOCK_BYTES = 512 * 1024;
const MIN_PARALLEL_BLOCKS = 8;
/** Row tiles that must share a panel of B before packing it pays for the copy. */
const PACK_B_MIN_ROW_TILES = 4;

/** out[b..., i, j] = epilogue(sum_k A[b..., i, k] * B[b..., k, j], [b..., i, j]) with numpy-style batch broadcasting
 *  already resolved by the caller: `a` and `b` are placeholders of rank 2 or more; transA/transB swap their last two axes. */
export function gemmKernel(spec: {
  name: string; a: Tensor; b: Tensor; transA?: boolean; transB?: boolean;
  /** `b` is a constant already in this kernel's panels (packGemmB), of a [k, n] matrix. */
  prepackedB?: { readonly n: number };
  /** batch dims of the output; a/b batch dims are either equal or 1 (broadcast) */
  batch?: readonly number[];
  epilogue?: (acc: Expr, index: readonly Var[]) => Expr;
}): Kernel {
  const { name, a, b, prepackedB } = spec;
  const batch = spec.batch ?? [];
  const fail = (why: string): never => { throw new KilnError(`gemm ${name}: ${why}`); };
  if (a.shape.length < 2 || b.shape.length < 2) fail(`operands need rank 2 or more, got [${a.shape}] and [${b.shape}]`);
  const [m, ka] = lastTwo(a, spec.transA), [kb, n] = prepackedB ? [b.shape[1]!, prepackedB.n] : lastTwo(b, spec.transB);
  if (ka !== kb) fail(`inner dimensions differ: [${a.shape}]${spec.transA ? "^T" : ""} x [${b.shape}]${spec.transB ? "^T" : ""}`);
  for (const t of prepackedB ? [a] : [a, b]) {
    const dims = t.shape.slice(0, -2);
    if (dims.length > batch.length || dims.some((d, i) => d !== 1 && d !== batch[batch.length - dims.length + i])) {
      fail(`batch dims [${dims}] of ${t.name} do not broadcast to [${batch}]`);
    }
  }
  const k = ka;
  const t = tiles(m, n, (spec.transB ?? false) || !!prepackedB);
  if (prepackedB && (b.shape.length !== 3 || b.shape[0] !== Math.ceil(n / t.nr) || b.shape[2] !== t.nr)) fail(`prepacked B [${b.shape}] is not in panels for ${m} x ${n}`);
  const mp = Math.ceil(m / t.mr) * t.mr, np = Math.ceil(n / t.nr) * t.nr;

  // An operand's batch index for the output's `bs`: right-aligned, broadcast dims at 0.
  const batchIndex = (x: Tensor, bs: readonly Expr[]) => x.shape.slice(0, -2).map((d, i) => (d === 1 ? lit(0, "int") : bs[bs.length - (x.shape.length - 2) + i]!));
  const aAt = (own: readonly Expr[], i: Expr, kk: Expr) => a.at(...own, ...(spec.transA ? [kk, i] : [i, kk]));
  const bAt = (own: readonly Expr[], kk: Expr, j: Expr) => b.at(...own, ...(spec.transB ? [j, kk] : [kk, j]));
  const aBatch = a.shape.slice(0, -2), bBatch = prepackedB ? [] : b.shape.slice(0, -2);

  // Panels: pa[b..., io, k, ii] = A[b..., io*MR + ii, k] and pb[b..., jo, k, ji] = B[b..., k, jo*NR + ji], zero past the edge.
  const pa = t.packA ? compute(`${name}_pa`, [...aBatch, mp / t.mr, k, t.mr], (...ix) => {
    const [io, kk, ii] = ix.slice(-3) as [Var, Var, Var];
    const i = add(mul(io, t.mr), ii);
    return guarded(lt(i, m), aAt(ix.slice(0, -3), i, kk), mp > m);
  }) : undefined;
  const pb = prepackedB ? b : t.packB ? compute(`${name}_pb`, [...bBatch, np / t.nr, k, t.nr], (...ix) => {
    const [jo, kk, ji] = ix.slice(-3) as [Var, Var, Var];
    const j = add(mul(jo, t.nr), ji);
    return guarded(lt(j, n), bAt(ix.slice(0, -3), kk, j), np > n);
  }) : undefined;

  const kAxis = reduceAxis(k, "k");
  const acc = compute(`${name}_acc`, [...batch, mp, np], (...ix) => {
    const bs = ix.slice(0, -2), [i, j] = ix.slice(-2) as [Var, Var];
    const av = pa ? pa.at(...batchIndex(a, bs), div(i, t.mr), kAxis, mod(i, t.mr)) : aAt(batchIndex(a, bs), i, kAxis.v);
    const bv = pb ? pb.at(...(prepackedB ? [] : batchIndex(b, bs)), div(j, t.nr), kAxis, mod(j, t.nr)) : bAt(batchIndex(b, bs), kAxis.v, j);
    return reduceSum(mul(av, bv), [kAxis]);
  });
  const out = compute(name, [...batch, m, n], (...ix) => (spec.epilogue ?? ((x) => x))(acc.at(...ix), ix));
  return { outputs: [out], steps: gemmSteps(out, acc, [pa, prepackedB ? undefined : pb], t) };
}

/**
 * A constant B ([k, n], or [n, k] when `transB`) in the panels gemmKernel reads for an m-row A:
 * [ceil(n / NR), k, NR], zero past the edge. Packed once, at load, each panel is one contiguous
 * run that the kernel streams front to back; read in place, a panel's k rows lie a row of B
 * apart (4 KB for n = 1024), one page each, which the hardware prefetchers do not follow, so a
 * matrix-vector product ran at a third of the memory bandwidth.
 */
export function packGemmB(data: Float32Array, k: number, n: number, m: number, transB: boolean): { shape: number[]; data: Float32Array } {
  const nr = tiles(m, n, true).nr, panels = Math.ceil(n / nr);
  const out = new Float32Array(panels * k * nr);
  for (let jo = 0; jo < panels; jo++) {
    for (let kk = 0; kk < k; kk++) {
      const row = (jo * k + kk) * nr;
      for (let ji = 0; ji < nr && jo * nr + ji < n; ji++) {
        const j = jo * nr + ji;
        out[row + ji] = data[transB ? j * k + kk : kk * n + j]!;
      }
    }
  }
  return { shape: [panels, k, nr], data: out };
}

interface Tiles {
  /** Rows and columns of the register tile (columns a multiple of 4). */
  readonly mr: number;
  readonly nr: number;
  readonly packA: boolean;
  readonly packB: boolean;
}

/**
 * MR x NR with MR * NR/4 = 8 accumulators: 4x8 for real matrices, and for short ones (M < 4)
 * all rows and wider columns; the widest such NR that divides N avoids packing B. One row whose
 * B is packed anyway (constant, or transposed) takes 7 vectors of 4 columns instead of 8: its k
 * step also holds NR/4 loads of B, which V8 schedules ahead of the multiply-adds, and 8
 * accumulators + 8 loads + a broadcast exceed the 15 registers, so one accumulator spilled
 * (a [256,1024] matrix-vector product: 23.0 µs with 8, 17.7 µs with 7, tail panel included).
 */
function tiles(m: number, n: number, packedB: boolean): Tiles {
  const mr = Math.min(m, 4);
  const widths = [1, 2, 4, 8].filter((v) => mr * v <= ACCUMULATORS).map((v) => v * LANES).reverse();
  const oneRowWidth = (ACCUMULATORS - 1) * LANES;
  const nr = mr === 1 && packedB && n >= oneRowWidth ? oneRowWidth : widths.find((w) => n % w === 0) ?? widths[0]!;
  const rowTiles = Math.ceil(m / mr);
  return { mr, nr, packA: m % mr !== 0, packB: packedB || n % nr !== 0 || rowTiles >= PACK_B_MIN_ROW_TILES };
}

/** Loop names: compute() names the axes of variadic callbacks i0, i1, ... */
const axis = (d: number) => `i${d}`;

function gemmSteps(out: Tensor, acc: Tensor, packs: readonly (Tensor | undefined)[], t: Tiles): Step[] {
  const r = out.shape.length, nb = r - 2, [mi, nj] = [axis(r - 2), axis(r - 1)];
  const o = out.name, c = acc.name;
  const k = acc.body?.kind === "reduce" ? acc.body.axes[0]!.extent : 1;
  const panels = Math.ceil(out.shape[r - 1]! / t.nr);
  // Column panels in blocks: a row tile of A (MR x K) then serves a whole block of panels from
  // L1 instead of being reread from L3 for every panel; the block of packed B stays in L2.
  // The block divides the panels: a tail block would put a bounds test around the tile loops.
  const limit = t.packB ? Math.max(1, Math.min(Math.floor(PANEL_BLOCK_BYTES / (k * t.nr * 4)), Math.ceil(panels / MIN_PARALLEL_BLOCKS))) : 1;
  let block = limit;
  while (panels % block !== 0) block--;
  const tileLoop = block > 1 ? `${nj}.outer.inner` : `${mi}.outer`;
  const steps: Step[] = [
    { kind: "tile", stage: o, x: mi, y: nj, xFactor: t.mr, yFactor: t.nr },
    { kind: "split", stage: o, loop: `${nj}.inner`, factor: LANES },
    { kind: "reorder", stage: o, loops: [`${nj}.outer`, `${mi}.outer`] },
    { kind: "unroll", stage: o, loop: `${mi}.inner` },
    { kind: "unroll", stage: o, loop: `${nj}.inner.outer` },
    { kind: "vectorize", stage: o, loop: `${nj}.inner.inner` },
  ];
  if (block > 1) {
    steps.push(
      { kind: "split", stage: o, loop: `${nj}.outer`, factor: block },
      { kind: "reorder", stage: o, loops: [`${mi}.outer`, `${nj}.outer.inner`] },
    );
  }
  // One parallel loop over the batch and the column panels (or blocks of them).
  let par = block > 1 ? `${nj}.outer.outer` : `${nj}.outer`;
  for (let d = nb - 1; d >= 0; d--) {
    steps.push({ kind: "fuse", stage: o, outer: axis(d), inner: par });
    par = `${axis(d)}.${par}.fused`;
  }
  steps.push({ kind: "parallel", stage: o, loop: par });
  steps.push(
    // The accumulator tile, split like the output's tile (schedules see whole-tensor extents;
    // inside the MR x NR box the outer loops have one iteration and vanish).
    { kind: "compute_at", stage: c, consumer: o, loop: tileLoop },
    { kind: "tile", stage: c, x: mi, y: nj, xFactor: t.mr, yFactor: t.nr },
    { kind: "split", stage: c, loop: `${nj}.inner`, factor: LANES },
    { kind: "reorder", stage: c, loops: ["k", `${mi}.inner`, `${nj}.inner.outer`, `${nj}.inner.inner`] },
    { kind: "unroll", stage: c, loop: `${mi}.inner` },
    { kind: "unroll", stage: c, loop: `${nj}.inner.outer` },
    { kind: "vectorize", stage: c, loop: `${nj}.inner.inner` },
  );
  // B's panel is packed in the iteration of the parallel loop that uses it, so each worker
  // packs only its own panels (a copy at root would be made in full by every worker); A's
  // panels serve every column panel and are packed once, before the product. A panel's
  // innermost axis is contiguous in it.
  const [, pb] = packs;
  if (pb) steps.push({ kind: "compute_at", stage: pb.name, consumer: o, loop: par });
  for (const p of packs) {
    if (!p) continue;
    const last = axis(p.shape.length - 1);
    steps.push({ kind: "split", stage: p.name, loop: last, factor: LANES }, { kind: "vectorize", stage: p.name, loop: `${last}.inner` });
  }
  return steps;
}

function lastTwo(x: Tensor, trans = false): [number, number] {
  const [p, q] = x.shape.slice(-2) as [number, number];
  return trans ? [q, p] : [p, q];
}

/** `value` where `inside`, else 0; no select when nothing lies outside. */
const guarded = (inside: Expr, value: Expr, padded: boolean): Expr => (padded ? select(inside, value, lit(0, value.type)) : value);
