/**
 * Scheduling policies: functions from rOperators (in a topological order) and a vEU count to an
 * rProgram, built only through Append and Wait. `wavefront` is Rammer's default: it takes the
 * operators level by level (a wave holds the operators whose predecessors are all in earlier
 * waves), runs independent operators side by side on different vEUs, splits an operator into
 * more tasks only when its wave leaves vEUs idle, and places every task on the vEU that, by the
 * profiled costs, can finish it first (share v of an operator split across all vEUs on vEU v). `opByOp` is the ablation: every operator split across all
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

  const free = new Array<number>(veus).fill(0);
  /** Each scheduled task with its vEU and estimated finish, by operator. */
  const placed = new Map<number, { task: RTask; veu: number; finish: number }[]>();
  for (const wave of waves) {
    // Split only to fill the vEUs this wave leaves idle; never beyond what still pays.
    const share = Math.max(1, Math.floor(veus / wave.length));
    for (const op of [...wave].sort((a, b) => costOf(b, 1) - costOf(a, 1))) {
      const shares = bestShares(op, granularities(veus).filter((s) => s <= share));
      const before = op.deps.flatMap((d) => placed.get(d)!);
      const tasks: { task: RTask; veu: number; finish: number }[] = [];
      for (const task of tasksOf(op, shares)) {
        const start = free.map((f, v) => Math.max(f, ...before.map((b) => b.finish + (b.veu === v ? 0 : crossVeuMs))));
        // Split across every vEU, share v runs on vEU v: an RNN step's slice of the weights then
        // stays in that vEU's cache from one step to the next.
        const v = shares === veus ? task.share : argmin(start);
        p.wait(v, before.map((b) => b.task));
        p.append(task, v);
        free[v] = start[v]! + costOf(op, shares);
        tasks.push({ task, veu: v, finish: free[v]! });
      }
      placed.set(op.id, tasks);
    }
  }
  return p;
};

export const wavefront: Policy = wavefrontWith({ crossVeuMs: 0.01 });

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

/** The program played out under the profiled costs. */
export function simulate(p: RProgram, ops: readonly ROperator[]): Timeline {
  const byId = new Map(ops.map((o) => [o.id, o]));
  const pos = p.lists.map(() => 0), clock = p.lists.map(() => 0), done: number[][] = p.lists.map(() => []);
  const busy = p.lists.map(() => 0);
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
          const c = costOf(byId.get(e.task.op)!, e.task.shares);
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
