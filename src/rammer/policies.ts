/**
 * Scheduling policies: functions from rOperators (in a topological order) and a vEU count to an
 * rProgram, built only through Append and Wait. `wavefront` is Rammer's default: it takes the
 * operators level by level (a wave holds the operators whose predecessors are all in earlier
 * waves) and plans each wave two ways, keeping the one that finishes it first by the profiled
 * costs: independent operators side by side on different vEUs (an operator split only when
 * its wave leaves vEUs idle), or each operator split into the tasks that finish it first. Every
 * task goes to the vEU that can finish it first (share v of an operator split across all vEUs
 * on vEU v). `opByOp` is the ablation: every operator split across all
 * vEUs, each waiting for all of its predecessors' tasks, which is op-by-op execution as an
 * rProgram.
 */
import { InternalError } from "../ir/errors.js";
import { type ROperator, RProgram, type RTask } from "./program.js";

export type Policy = (ops: readonly ROperator[], veus: number) => RProgram;

const tasksOf = (op: ROperator, shares: number): RTask[] => Array.from({ length: shares }, (_, share) => ({ op: op.id, share, shares }));

function costOf(op: ROperator, shares: number): number {
  const c = op.cost.get(shares);
  if (c === undefined) throw new InternalError(`rOperator ${op.id} has no profile for ${shares} tasks`);
  return c;
}

/** Granularities an operator offers on `veus` vEUs: 1, 2, 4, ... up to veus (and veus itself). */
export function granularities(veus: number): number[] {
  const out: number[] = [];
  for (let s = 1; s < veus; s *= 2) out.push(s);
  out.push(veus);
  return out;
}

export const opByOp: Policy = (ops, veus) => {
  const p = new RProgram(veus);
  const byId = new Map(ops.map((o) => [o.id, o]));
  for (const op of ops) {
    const before = op.deps.flatMap((d) => tasksOf(byId.get(d)!, veus));
    tasksOf(op, veus).forEach((t, v) => {
      p.wait(v, before);
      p.append(t, v);
    });
  }
  return p;
};

export interface WavefrontOptions {
  /**
   * What a dependency that crosses vEUs costs on top of the predecessor's finish (ms): a wait
   * that may block. Charging it makes a task prefer the vEU its predecessors ran on when that is
   * about as early, so chains (an RNN layer's steps) stay on one vEU and their order implies the wait.
   */
  readonly crossVeuMs: number;
}

export const wavefrontWith = ({ crossVeuMs }: WavefrontOptions): Policy => (ops, veus) => {
  const p = new RProgram(veus);
  const level = new Map<number, number>();
  for (const op of ops) level.set(op.id, Math.max(-1, ...op.deps.map((d) => level.get(d) ?? fail(op, d))) + 1);
  const waves: ROperator[][] = [];
  for (const op of ops) (waves[level.get(op.id)!] ??= []).push(op);

  let free = new Array<number>(veus).fill(0);
  /** Each scheduled task with its vEU and estimated finish, by operator. */
  const placed = new Map<number, Placement[]>();
  for (const wave of waves) {
    // Two plans for the wave, the one that finishes it first kept: side by side (split only to
    // fill the vEUs the wave leaves idle: branches of similar cost, or splits that do not pay),
    // and each operator at the granularity that finishes it first (a heavy branch next to a
    // light one is split rather than left to hold one vEU while the others idle).
    const plans = [planWave(wave, Math.max(1, Math.floor(veus / wave.length)), false), planWave(wave, veus, true)];
    const best = plans.reduce((a, b) => (Math.max(...b.free) < Math.max(...a.free) - 1e-9 ? b : a));
    for (const { op, before, tasks } of best.ops) {
      for (const t of tasks) {
        p.wait(t.veu, before.map((b) => b.task));
        p.append(t.task, t.veu);
      }
      placed.set(op.id, tasks);
    }
    free = best.free;
  }
  return p;

  /** The wave's operators (costliest first) placed on a copy of the vEUs' free times. */
  function planWave(wave: readonly ROperator[], maxShares: number, earliestFinish: boolean) {
    let f = [...free];
    const out: { op: ROperator; before: Placement[]; tasks: Placement[] }[] = [];
    for (const op of [...wave].sort((a, b) => costOf(b, 1) - costOf(a, 1))) {
      const before = op.deps.flatMap((d) => placed.get(d)!); // earlier waves: a wave's operators are independent
      const options = granularities(veus).filter((s) => s <= maxShares);
      const place = (shares: number) => {
        const g = [...f];
        const tasks = tasksOf(op, shares).map((task): Placement => {
          const start = g.map((x, v) => Math.max(x, ...before.map((b) => b.finish + (b.veu === v ? 0 : crossVeuMs))));
          // Split across every vEU, share v runs on vEU v: an RNN step's slice of the weights
          // then stays in that vEU's cache from one step to the next.
          const v = shares === veus ? task.share : argmin(start);
          g[v] = start[v]! + costOf(op, shares);
          return { task, veu: v, finish: g[v]! };
        });
        return { tasks, free: g, finish: Math.max(...tasks.map((t) => t.finish)) };
      };
      // Earliest finish: a finer split must gain a tenth of the operator's time to be worth its waits.
      const chosen = earliestFinish
        ? options.map(place).reduce((best, c) => (c.finish < best.finish - 0.1 * costOf(op, 1) ? c : best))
        : place(bestShares(op, options));
      f = chosen.free;
      out.push({ op, before, tasks: chosen.tasks });
    }
    return { ops: out, free: f };
  }
};

interface Placement { readonly task: RTask; readonly veu: number; readonly finish: number }

/** No charge for crossing vEUs: measured with each runtime timed once the others are quiet, every
 * zoo model ran as fast or faster than with 1, 3 or 10 µs charged (a wait that finds its count
 * costs ~0.1 µs). */
export const wavefront: Policy = wavefrontWith({ crossVeuMs: 0 });

/** The granularity with the shortest time for the whole operator, assuming its tasks run side by side. */
function bestShares(op: ROperator, options: readonly number[]): number {
  return options.reduce((best, s) => (costOf(op, s) < costOf(op, best) * 0.9 ? s : best), options[0]!);
}

const argmin = (xs: readonly number[]) => xs.reduce((best, x, i) => (x < xs[best]! ? i : best), 0);

function fail(op: ROperator, dep: number): never {
  throw new InternalError(`rOperator ${op.id} depends on ${dep}, which does not come before it`);
}

export interface Timeline {
  readonly makespan: number;
  /** Busy time of each vEU. */
  readonly busy: number[];
  /** Waits that would block under these costs. */
  readonly blocked: number;
  /** Every task with its vEU and its start and end times. */
  readonly tasks: { readonly task: RTask; readonly veu: number; readonly start: number; readonly end: number }[];
  /** Every wait: vEU `veu` at time `at` waited for vEU `on`'s task that ended at `until`. */
  readonly waits: { readonly veu: number; readonly on: number; readonly at: number; readonly until: number }[];
}

/**
 * The program played out under the profiled costs. The profile times each kernel with its weights
 * in cache; with `reloadMsPerByte`, a task whose weights (its share of them) differ from those of
 * its vEU's previous task with weights also pays for reading them again.
 */
export function simulate(p: RProgram, ops: readonly ROperator[], reloadMsPerByte = 0): Timeline {
  const byId = new Map(ops.map((o) => [o.id, o]));
  const pos = p.lists.map(() => 0), clock = p.lists.map(() => 0), done: number[][] = p.lists.map(() => []);
  const busy = p.lists.map(() => 0);
  const cached: (string | undefined)[] = p.lists.map(() => undefined);
  const tasks: Timeline["tasks"] = [], waits: Timeline["waits"] = [];
  let blocked = 0, progress = true;
  while (progress) {
    progress = false;
    p.lists.forEach((list, v) => {
      for (; pos[v]! < list.length; pos[v]!++) {
        const e = list[pos[v]!]!;
        if (e.kind === "wait") {
          if (done[e.veu]!.length < e.count) return;
          const until = done[e.veu]![e.count - 1]!;
          waits.push({ veu: v, on: e.veu, at: clock[v]!, until });
          if (until > clock[v]!) { blocked++; clock[v] = until; }
        } else {
          const op = byId.get(e.task.op)!;
          let c = costOf(op, e.task.shares);
          if (op.weights) {
            const slice = `${op.weights.offset}:${e.task.share}/${e.task.shares}`;
            if (slice !== cached[v]) c += reloadMsPerByte * op.weights.bytes / e.task.shares;
            cached[v] = slice;
          }
          tasks.push({ task: e.task, veu: v, start: clock[v]!, end: clock[v]! + c });
          clock[v]! += c;
          busy[v]! += c;
          done[v]!.push(clock[v]!);
        }
        progress = true;
      }
    });
  }
  if (pos.some((x, v) => x < p.lists[v]!.length)) throw new InternalError("rProgram deadlocks: a wait can never be satisfied");
  return { makespan: Math.max(...clock), busy, blocked, tasks, waits };
}
