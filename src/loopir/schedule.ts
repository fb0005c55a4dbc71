/**
 * Schedules as replayable data. A schedule is a list of `Step`s; `applyStep` is a pure function
 * from one `Schedule` state to the next that checks the step's preconditions and throws a
 * `ScheduleError` naming the step when one fails. The steps serialize as JSON, so a tuned
 * schedule is a cache entry, a test fixture and a bug report at once.
 *
 * Loops are named per stage (a stage is a compute tensor): the root loops are the tensor's axes
 * (spatial, then reduction), `split` of `x` makes `x.outer` and `x.inner`, `fuse` of `x` and
 * `y` makes `x.y.fused`.
 */
import { KilnError } from "../ir/errors.js";
import type { Tensor } from "./compute.js";
import { type ForKind, LANES } from "./stmt.js";

export type Step =
  /** Requires: `loop` is a serial leaf loop of `stage` with nothing attached at it, factor >= 1. `tail: "peel"` (no guard, a
   * remainder copy of the nest) additionally forbids splitting or fusing the two new loops. */
  | { readonly kind: "split"; readonly stage: string; readonly loop: string; readonly factor: number; readonly tail?: "guard" | "peel" }
  /** Requires: `loops` are distinct leaf loops; they take the positions they occupy, in the
   * given order; a vectorized loop stays innermost and a peeled inner loop inside its outer. */
  | { readonly kind: "reorder"; readonly stage: string; readonly loops: readonly string[] }
  /** split x and y, then reorder to x.outer, y.outer, x.inner, y.inner. Requires x before y. */
  | { readonly kind: "tile"; readonly stage: string; readonly x: string; readonly y: string; readonly xFactor: number; readonly yFactor: number }
  /** Requires: `outer` immediately followed by `inner`, both serial, both spatial or both
   * reduction, neither from a peeled split, nothing attached at either. */
  | { readonly kind: "fuse"; readonly stage: string; readonly outer: string; readonly inner: string }
  /** Requires: a serial leaf with extent <= MAX_UNROLL. */
  | { readonly kind: "unroll"; readonly stage: string; readonly loop: string }
  /** Requires: the innermost leaf, spatial, serial, extent LANES, nothing attached at it. */
  | { readonly kind: "vectorize"; readonly stage: string; readonly loop: string }
  /** Requires: a serial spatial leaf (iterations are independent). */
  | { readonly kind: "parallel"; readonly stage: string; readonly loop: string }
  /** Pack: copy the tile of `tensor` that `stage` reads inside `loop` into a contiguous local
   * buffer at the top of `loop`'s body. Requires: `stage` reads `tensor` (not through
   * compute_at), `loop` is a non-vectorized leaf, `tensor` is not already cached by `stage`. */
  | { readonly kind: "cache_read"; readonly stage: string; readonly tensor: string; readonly loop: string }
  /** Compute the tile of `stage` that `consumer` (and the stages attached at the same loop)
   * read inside `loop`, into a local buffer at the top of that loop's body. Requires: `stage`
   * is not an output, not yet attached or inlined; every reader of it (looking through inlined
   * stages) is `consumer` or already attached at `loop` or at a loop of `consumer` inside it, and no stage caches it;
   * `loop` is a non-vectorized leaf of `consumer`. */
  | { readonly kind: "compute_at"; readonly stage: string; readonly consumer: string; readonly loop: string }
  /** Substitute `stage`'s expression into its readers. Requires: not an output, not a
   * reduction, not attached, nothing attached to it, no caches in it or of it. */
  | { readonly kind: "compute_inline"; readonly stage: string };

export type StepKind = Step["kind"];
export const MAX_UNROLL = 32;

export type Relation =
  | { readonly kind: "split"; readonly parent: string; readonly outer: string; readonly inner: string; readonly factor: number; readonly peel: boolean }
  | { readonly kind: "fuse"; readonly outer: string; readonly inner: string; readonly fused: string };

export type Attach = { readonly kind: "root" } | { readonly kind: "inline" } | { readonly kind: "at"; readonly consumer: string; readonly loop: string };

export interface Stage {
  readonly tensor: Tensor;
  /** Current loops, outermost first. */
  readonly leaves: readonly string[];
  readonly relations: readonly Relation[];
  /** Loop kinds other than serial, by leaf name. */
  readonly kinds: Readonly<Record<string, ForKind>>;
  readonly attach: Attach;
  /** cache_read buffers: tensor name -> the leaf loop the copy sits in. */
  readonly caches: Readonly<Record<string, string>>;
}

export interface Schedule {
  /** Compute stages in dependency order (producers first). */
  readonly stages: readonly Stage[];
  readonly outputs: readonly string[];
  readonly steps: readonly Step[];
}

export class ScheduleError extends KilnError {
  constructor(readonly step: Step, reason: string) {
    super(`schedule step ${stepText(step)}: ${reason}`);
  }
}

export function stepText(step: Step): string {
  const { kind, ...args } = step;
  return `${kind}(${Object.entries(args).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})`;
}

/** The unscheduled state: every stage at root, one loop per axis. */
export function createSchedule(outputs: readonly Tensor[]): Schedule {
  const order: Tensor[] = [];
  const visit = (t: Tensor) => {
    if (t.body === undefined || order.includes(t)) return;
    if (order.some((o) => o.name === t.name)) throw new KilnError(`two tensors are named ${t.name}`);
    t.inputs.forEach(visit);
    order.push(t);
  };
  outputs.forEach(visit);
  const stages = order.map((tensor): Stage => ({
    tensor, relations: [], kinds: {}, attach: { kind: "root" }, caches: {},
    leaves: [...tensor.axes, ...reduceAxes(tensor)].map((a) => a.name),
  }));
  return { stages, outputs: outputs.map((t) => t.name), steps: [] };
}

export const reduceAxes = (t: Tensor) => (t.body?.kind === "reduce" ? t.body.axes : []);

export const replay = (outputs: readonly Tensor[], steps: readonly Step[]): Schedule => steps.reduce(applyStep, createSchedule(outputs));

/** Extent of every loop of a stage (root, intermediate and leaf), given the root extents. */
export function loopExtents(stage: Stage, root: Readonly<Record<string, number>> = rootExtents(stage)): Record<string, number> {
  const ext: Record<string, number> = { ...root };
  for (const r of stage.relations) {
    if (r.kind === "split") {
      ext[r.outer] = Math.ceil(ext[r.parent]! / r.factor);
      ext[r.inner] = r.factor;
    } else ext[r.fused] = ext[r.outer]! * ext[r.inner]!;
  }
  return ext;
}

export const rootExtents = (stage: Stage): Record<string, number> =>
  Object.fromEntries([...stage.tensor.axes, ...reduceAxes(stage.tensor)].map((a) => [a.name, a.extent]));

/** Whether a loop derives only from reduction axes. */
export function isReduceLoop(stage: Stage, loop: string): boolean {
  const roots = reduceAxes(stage.tensor).map((a) => a.name);
  if (roots.includes(loop)) return true;
  for (const r of stage.relations) {
    if (r.kind === "split" && (r.outer === loop || r.inner === loop)) return isReduceLoop(stage, r.parent);
    if (r.kind === "fuse" && r.fused === loop) return isReduceLoop(stage, r.outer);
  }
  return false;
}

export function applyStep(s: Schedule, step: Step): Schedule {
  const fail = (reason: string): never => { throw new ScheduleError(step, reason); };
  const find = (name: string): Stage => s.stages.find((x) => x.tensor.name === name) ?? fail(`no stage named ${name}`);
  const stage = find(step.stage);
  const leaf = (loop: string) => (stage.leaves.includes(loop) ? loop : fail(`${loop} is not a loop of ${step.stage} (loops: ${stage.leaves.join(", ")})`));
  const serial = (loop: string) => (stage.kinds[leaf(loop)] ? fail(`${loop} is already ${stage.kinds[loop]}`) : loop);
  const peeled = (loop: string) => stage.relations.some((r) => r.kind === "split" && r.peel && (r.outer === loop || r.inner === loop));
  const attachedAt = (st: Stage, loop: string) => s.stages.some((x) => x.attach.kind === "at" && x.attach.consumer === st.tensor.name && x.attach.loop === loop)
    || Object.values(st.caches).includes(loop);
  const put = (next: Partial<Stage>, target = stage): Schedule => ({
    ...s, steps: [...s.steps, step], stages: s.stages.map((x) => (x === target ? { ...x, ...next } : x)),
  });
  const annotate = (loop: string, kind: ForKind) => put({ kinds: { ...stage.kinds, [loop]: kind } });

  switch (step.kind) {
    case "split": {
      const loop = serial(step.loop);
      if (!Number.isInteger(step.factor) || step.factor < 1) fail(`factor must be a positive integer`);
      if (peeled(loop)) fail(`${loop} comes from a peeled split`);
      if (attachedAt(stage, loop)) fail(`a stage or cache is attached at ${loop} (split before attaching)`);
      const outer = `${loop}.outer`, inner = `${loop}.inner`;
      const leaves = stage.leaves.flatMap((l) => (l === loop ? [outer, inner] : [l]));
      return put({ leaves, relations: [...stage.relations, { kind: "split", parent: loop, outer, inner, factor: step.factor, peel: step.tail === "peel" }] });
    }
    case "reorder": {
      step.loops.forEach(leaf);
      if (new Set(step.loops).size !== step.loops.length) fail("loops repeat");
      const slots = stage.leaves.map((l, i) => (step.loops.includes(l) ? i : -1)).filter((i) => i >= 0);
      const leaves = [...stage.leaves];
      slots.forEach((slot, i) => (leaves[slot] = step.loops[i]!));
      const vec = leaves.findIndex((l) => stage.kinds[l] === "vectorized");
      if (vec >= 0 && vec !== leaves.length - 1) fail(`vectorized loop ${leaves[vec]} must stay innermost`);
      for (const r of stage.relations) {
        if (r.kind === "split" && r.peel && leaves.indexOf(r.inner) < leaves.indexOf(r.outer)) fail(`peeled ${r.inner} must stay inside ${r.outer}`);
      }
      return put({ leaves });
    }
    case "tile": {
      if (stage.leaves.indexOf(leaf(step.x)) >= stage.leaves.indexOf(leaf(step.y))) fail(`${step.x} must come before ${step.y}`);
      const [xo, xi, yo, yi] = [`${step.x}.outer`, `${step.x}.inner`, `${step.y}.outer`, `${step.y}.inner`];
      const parts: Step[] = [
        { kind: "split", stage: step.stage, loop: step.x, factor: step.xFactor },
        { kind: "split", stage: step.stage, loop: step.y, factor: step.yFactor },
        { kind: "reorder", stage: step.stage, loops: [xo, yo, xi, yi] },
      ];
      try {
        return { ...parts.reduce(applyStep, s), steps: [...s.steps, step] };
      } catch (e) {
        throw e instanceof ScheduleError ? new ScheduleError(step, e.message) : e;
      }
    }
    case "fuse": {
      const i = stage.leaves.indexOf(serial(step.outer));
      if (stage.leaves[i + 1] !== serial(step.inner)) fail(`${step.inner} does not immediately follow ${step.outer}`);
      if (isReduceLoop(stage, step.outer) !== isReduceLoop(stage, step.inner)) fail("cannot fuse a spatial loop with a reduction loop");
      if (peeled(step.outer) || peeled(step.inner)) fail("cannot fuse loops of a peeled split");
      if (attachedAt(stage, step.outer) || attachedAt(stage, step.inner)) fail("a stage or cache is attached at one of the loops (fuse before attaching)");
      const fused = `${step.outer}.${step.inner}.fused`;
      const leaves = stage.leaves.flatMap((l) => (l === step.outer ? [fused] : l === step.inner ? [] : [l]));
      return put({ leaves, relations: [...stage.relations, { kind: "fuse", outer: step.outer, inner: step.inner, fused }] });
    }
    case "unroll": {
      const loop = serial(step.loop);
      if (loopExtents(stage)[loop]! > MAX_UNROLL) fail(`extent ${loopExtents(stage)[loop]} is over ${MAX_UNROLL}`);
      return annotate(loop, "unrolled");
    }
    case "vectorize": {
      const loop = serial(step.loop);
      if (stage.leaves[stage.leaves.length - 1] !== loop) fail(`${loop} is not the innermost loop`);
      if (isReduceLoop(stage, loop)) fail(`${loop} is a reduction loop`);
      if (loopExtents(stage)[loop] !== LANES) fail(`extent ${loopExtents(stage)[loop]} is not ${LANES} (split by ${LANES} first)`);
      if (attachedAt(stage, loop)) fail(`a stage or cache is attached at ${loop}`);
      return annotate(loop, "vectorized");
    }
    case "parallel": {
      const loop = serial(step.loop);
      if (isReduceLoop(stage, loop)) fail(`${loop} is a reduction loop`);
      return annotate(loop, "parallel");
    }
    case "cache_read": {
      const loop = leaf(step.loop);
      if (stage.kinds[loop] === "vectorized") fail(`${loop} is vectorized`);
      if (!readsThrough(s, stage.tensor).some((t) => t.name === step.tensor)) fail(`${step.stage} does not read ${step.tensor}`);
      if (step.tensor in stage.caches) fail(`${step.tensor} is already cached by ${step.stage}`);
      if (s.stages.some((x) => x.tensor.name === step.tensor && x.attach.kind === "at")) fail(`${step.tensor} is computed by compute_at`);
      return put({ caches: { ...stage.caches, [step.tensor]: loop } });
    }
    case "compute_at": {
      const consumer = find(step.consumer);
      if (s.outputs.includes(step.stage)) fail(`${step.stage} is an output`);
      if (stage.attach.kind !== "root") fail(`${step.stage} is already ${stage.attach.kind === "inline" ? "inlined" : "attached"}`);
      if (consumer.attach.kind === "inline") fail(`${step.consumer} is inlined`);
      const cacher = s.stages.find((x) => step.stage in x.caches);
      if (cacher) fail(`${step.stage} is cached by ${cacher.tensor.name}`);
      if (!consumer.leaves.includes(step.loop)) fail(`${step.loop} is not a loop of ${step.consumer}`);
      if (consumer.kinds[step.loop] === "vectorized") fail(`${step.loop} is vectorized`);
      // Every reader must run inside the same loop iteration, after the tile is computed.
      // A reader attached at a loop nested inside `loop` (a GEMM's accumulator tile inside the
      // column panel whose packed copy is attached here) runs inside the iteration too.
      const readers = s.stages.filter((x) => x.attach.kind !== "inline" && readsThrough(s, x.tensor).includes(stage.tensor));
      const depth = consumer.leaves.indexOf(step.loop);
      const inside = (x: Stage) => x === consumer || (x.attach.kind === "at" && x.attach.consumer === step.consumer && consumer.leaves.indexOf(x.attach.loop) >= depth);
      if (readers.length === 0 || !readers.every(inside)) {
        fail(`every reader of ${step.stage} (${readers.map((r) => r.tensor.name).join(", ")}) must be ${step.consumer} or attached at ${step.consumer}.${step.loop} or inside it`);
      }
      return put({ attach: { kind: "at", consumer: step.consumer, loop: step.loop } });
    }
    case "compute_inline": {
      if (s.outputs.includes(step.stage)) fail(`${step.stage} is an output`);
      if (stage.tensor.body?.kind === "reduce") fail(`${step.stage} is a reduction`);
      if (stage.attach.kind !== "root") fail(`${step.stage} is already ${stage.attach.kind === "inline" ? "inlined" : "attached"}`);
      if (s.stages.some((x) => x.attach.kind === "at" && x.attach.consumer === step.stage)) fail(`a stage is attached to ${step.stage}`);
      if (Object.keys(stage.caches).length > 0) fail(`${step.stage} has caches`);
      const cacher = s.stages.find((x) => step.stage in x.caches);
      if (cacher) fail(`${step.stage} is cached by ${cacher.tensor.name}`);
      return put({ attach: { kind: "inline" } });
    }
  }
}

/** The tensors whose loads appear in `t`'s body once inlined stages are substituted. */
export function readsThrough(s: Schedule, t: Tensor): Tensor[] {
  const inlined = (x: Tensor) => s.stages.some((st) => st.tensor === x && st.attach.kind === "inline");
  return [...new Set(t.inputs.flatMap((x) => (inlined(x) ? readsThrough(s, x) : [x])))];
}

const STEP_FIELDS: { readonly [K in StepKind]: Readonly<Record<string, "string" | "number" | "strings" | "tail">> } = {
  split: { stage: "string", loop: "string", factor: "number", tail: "tail" },
  reorder: { stage: "string", loops: "strings" },
  tile: { stage: "string", x: "string", y: "string", xFactor: "number", yFactor: "number" },
  fuse: { stage: "string", outer: "string", inner: "string" },
  unroll: { stage: "string", loop: "string" },
  vectorize: { stage: "string", loop: "string" },
  parallel: { stage: "string", loop: "string" },
  cache_read: { stage: "string", tensor: "string", loop: "string" },
  compute_at: { stage: "string", consumer: "string", loop: "string" },
  compute_inline: { stage: "string" },
};

export const scheduleToJson = (s: Schedule): string => JSON.stringify(s.steps);

/** Parse and validate a JSON list of steps (field names and types; preconditions are checked on replay). */
export function parseSteps(json: string): Step[] {
  const data: unknown = JSON.parse(json);
  if (!Array.isArray(data)) throw new KilnError("schedule: expected a JSON array of steps");
  return data.map((raw: unknown, i) => {
    const o = raw as Record<string, unknown>;
    const fields = typeof o?.kind === "string" ? STEP_FIELDS[o.kind as StepKind] : undefined;
    if (!fields) throw new KilnError(`schedule step ${i}: unknown kind ${JSON.stringify(o?.kind)}`);
    for (const key of Object.keys(o)) if (key !== "kind" && !(key in fields)) throw new KilnError(`schedule step ${i} (${o.kind}): unknown field ${key}`);
    for (const [key, type] of Object.entries(fields)) {
      const v = o[key];
      const ok = type === "string" ? typeof v === "string" : type === "number" ? typeof v === "number"
        : type === "strings" ? Array.isArray(v) && v.every((x) => typeof x === "string") : v === undefined || v === "guard" || v === "peel";
      if (!ok) throw new KilnError(`schedule step ${i} (${o.kind}): bad field ${key}: ${JSON.stringify(v)}`);
    }
    return o as unknown as Step;
  });
}
