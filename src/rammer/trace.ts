/**
 * A traced launch (dispatch.ts) as a Timeline: what the rProgram did on this machine, in the
 * same form as `simulate`'s profiled play-out, so the two can be drawn and compared side by side.
 */
import { InternalError } from "../ir/errors.js";
import type { Timeline } from "./policies.js";
import type { RProgram } from "./program.js";

/**
 * `stamps[v]` is vEU v's clock (ms) at its start and after each entry of its list. Times are
 * from the earliest vEU start; a wait blocked when the task it names ended after the wait began.
 */
export function measuredTimeline(p: RProgram, stamps: readonly Float64Array[]): Timeline {
  if (stamps.length !== p.lists.length || p.lists.some((l, v) => stamps[v]!.length !== l.length + 1)) {
    throw new InternalError("a launch trace does not match its rProgram");
  }
  const t0 = Math.min(...stamps.map((s) => s[0]!));
  const at = (v: number, i: number) => stamps[v]![i]! - t0;
  const ends = p.lists.map((list, v) => list.flatMap((e, i) => (e.kind === "task" ? [at(v, i + 1)] : [])));
  const tasks: Timeline["tasks"] = [], waits: Timeline["waits"] = [];
  const busy = p.lists.map(() => 0);
  let blocked = 0;
  p.lists.forEach((list, v) => list.forEach((e, i) => {
    const start = at(v, i), end = at(v, i + 1);
    if (e.kind === "task") {
      tasks.push({ task: e.task, veu: v, start, end });
      busy[v]! += end - start;
      return;
    }
    const until = ends[e.veu]![e.count - 1]!;
    waits.push({ veu: v, on: e.veu, at: start, until });
    if (until > start) blocked++;
  }));
  return { makespan: Math.max(...p.lists.map((l, v) => at(v, l.length))), busy, blocked, tasks, waits };
}
