/**
 * The default schedule of a kernel whose output is elementwise, injective or a reduction's
 * finish: vectorize the innermost axis when it divides into f32x4, fuse the leading axes into
 * one loop big enough to share across workers and run it in parallel, and compute every
 * reduction stage the output reads inside that loop (consumers first, as compute_at requires),
 * each vectorized along its own innermost axis when that is one block of lanes.
 */
import type { Tensor } from "../loopir/compute.js";
import { type Step, reduceAxes } from "../loopir/schedule.js";
import { LANES } from "../loopir/stmt.js";

/** Iterations the parallel loop should have at least, so every worker gets a few. */
const PARALLEL_ITERATIONS = 64;
/** Vectors an elementwise loop computes per iteration. */
const UNROLL = 4;

export function defaultSchedule(out: Tensor, stages: readonly Tensor[]): Step[] {
  const names = out.axes.map((a) => a.name);
  const rank = names.length;
  if (rank === 0) return [];
  const steps: Step[] = [];
  const last = names[rank - 1]!, lastExtent = out.shape[rank - 1]!;
  // An axis along which no stage reduces: tiles of the stages per iteration do not overlap, so
  // parallel iterations do not recompute the same reduction.
  const free = (d: number) => stages.every((s) => s.shape.length === rank && s.shape[d] === out.shape[d]);
  const leading = names.slice(0, -1).findIndex((_, d) => !free(d));
  const freeLeading = leading < 0 ? rank - 1 : leading;
  // Loops the parallel loop may be fused from, outermost first, with their extents.
  const candidates: [string, number][] = names.slice(0, freeLeading).map((n, d) => [n, out.shape[d]!]);
  const lastFree = freeLeading === rank - 1 && free(rank - 1);
  if (lastExtent % LANES === 0 && rank > 0) {
    if (lastExtent === LANES) steps.push({ kind: "vectorize", stage: out.name, loop: last });
    else {
      steps.push({ kind: "split", stage: out.name, loop: last, factor: LANES });
      steps.push({ kind: "vectorize", stage: out.name, loop: `${last}.inner` });
      if (stages.length === 0 && lastFree && lastExtent % (LANES * UNROLL) === 0) {
        // Several vectors per iteration: exp, sigmoid and tanh are long dependency chains that
        // one vector at a time leaves the pipes waiting on.
        steps.push({ kind: "split", stage: out.name, loop: `${last}.outer`, factor: UNROLL });
        steps.push({ kind: "unroll", stage: out.name, loop: `${last}.outer.inner` });
        candidates.push([`${last}.outer.outer`, lastExtent / LANES / UNROLL]);
      } else if (lastFree) candidates.push([`${last}.outer`, lastExtent / LANES]);
    }
  } else if (lastFree) candidates.push([last, lastExtent]);

  let parallel: string | undefined;
  let extent = 1;
  for (const [loop, n] of candidates) {
    if (parallel === undefined) parallel = loop;
    else if (extent < PARALLEL_ITERATIONS) {
      steps.push({ kind: "fuse", stage: out.name, outer: parallel, inner: loop });
      parallel = `${parallel}.${loop}.fused`;
    } else break;
    extent *= n;
  }
  if (parallel === undefined) return steps;
  steps.push({ kind: "parallel", stage: out.name, loop: parallel });
  for (const s of [...stages].reverse()) {
    steps.push({ kind: "compute_at", stage: s.name, consumer: out.name, loop: parallel });
    const spatial = s.axes[s.axes.length - 1];
    if (spatial && spatial.extent === LANES && reduceAxes(s).length > 0) {
      steps.push({ kind: "reorder", stage: s.name, loops: [...reduceAxes(s).map((a) => a.name), spatial.name] });
      steps.push({ kind: "vectorize", stage: s.name, loop: spatial.name });
    }
  }
  return steps;
}
