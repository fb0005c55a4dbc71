/**
 * Rammer's terms, as data. An rOperator is one kernel; an rTask is one share of its parallel
 * loop (`share` of `shares`: the kernel ABI already runs any share on its own), so an
 * rOperator offers every granularity 1, 2, 4, ... tasks. A vDevice has `veus` virtual execution
 * units (one per worker thread). An rProgram is, for each vEU, the ordered list of what it
 * does: run a task, or wait until another vEU has finished a number of tasks. It is built only
 * through `append` and `wait`, so any policy builds it the same way.
 *
 * A long operator split across every vEU may run its tasks dynamically (launch.ts,
 * `dynamicOps`): each task takes chunks of the operator's loop from a counter of the operator's
 * own until none is left (the kernel ABI's `counter`). Which iterations a task does is then
 * decided at run time, so a successor waits for every task of each operator it depends on (the
 * policies do: dependencies are between operators), never for one share's region.
 */
import { InternalError } from "../ir/errors.js";

export interface ROperator {
  readonly id: number;
  /** Operators whose results (or buffers) this one must wait for. */
  readonly deps: readonly number[];
  /** The deps whose results it reads (read after write), not only memory it reuses. */
  readonly inputs: readonly number[];
  /** Profiled time of one task when the operator is split into `shares` tasks, by `shares`. */
  readonly cost: ReadonlyMap<number, number>;
  /**
   * The largest byte range it reads that no operator of its launch writes, if any: its weights,
   * for a matrix product or a convolution (or a model input it reads). Operators reading the same
   * weights run fastest one after another on one vEU, whose cache then holds them.
   */
  readonly weights?: { readonly offset: number; readonly bytes: number };
}

export interface RTask {
  readonly op: number;
  readonly share: number;
  readonly shares: number;
}

export type Entry =
  | { readonly kind: "task"; readonly task: RTask }
  /** Block until vEU `veu` has finished at least `count` tasks. */
  | { readonly kind: "wait"; readonly veu: number; readonly count: number };

export class RProgram {
  readonly lists: Entry[][];
  /** Where each task ran: vEU and its position among that vEU's tasks (1-based count). */
  private readonly placed = new Map<string, { veu: number; count: number }>();

  constructor(readonly veus: number) {
    if (!Number.isInteger(veus) || veus < 1) throw new InternalError(`rProgram: ${veus} vEUs`);
    this.lists = Array.from({ length: veus }, () => []);
  }

  /** Append(rTask, vEU): `veu` runs `task` after everything already in its list. */
  append(task: RTask, veu: number): void {
    const key = taskKey(task);
    if (this.placed.has(key)) throw new InternalError(`rProgram: task ${key} appended twice`);
    this.lists[veu]!.push({ kind: "task", task });
    this.placed.set(key, { veu, count: this.taskCount(veu) });
  }

  /**
   * Wait(rTask, predecessors): before `veu` runs what it is appended next, every predecessor
   * task must be done. Only waits that cross vEUs and are not already implied (by order on the
   * same vEU, or by an earlier wait on the same vEU for as many tasks) are kept.
   */
  wait(veu: number, predecessors: readonly RTask[]): void {
    const need = new Map<number, number>();
    for (const p of predecessors) {
      const at = this.placed.get(taskKey(p));
      if (!at) throw new InternalError(`rProgram: waiting for ${taskKey(p)}, which was never appended`);
      if (at.veu !== veu) need.set(at.veu, Math.max(need.get(at.veu) ?? 0, at.count));
    }
    for (const [other, count] of need) {
      if (this.waitedFor(veu, other) < count) this.lists[veu]!.push({ kind: "wait", veu: other, count });
    }
  }

  /** Waits in the program (each is one possible synchronisation). */
  get waits(): number {
    return this.lists.reduce((n, l) => n + l.filter((e) => e.kind === "wait").length, 0);
  }

  private taskCount(veu: number): number {
    return this.lists[veu]!.filter((e) => e.kind === "task").length;
  }

  private waitedFor(veu: number, other: number): number {
    let most = 0;
    for (const e of this.lists[veu]!) if (e.kind === "wait" && e.veu === other) most = Math.max(most, e.count);
    return most;
  }
}

export const taskKey = (t: RTask) => `${t.op}.${t.share}/${t.shares}`;
