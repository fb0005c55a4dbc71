/**
 * From a program's steps to Rammer launches: each run of consecutive kernel steps (between the
 * steps the reference interpreter takes) becomes one launch, whose rOperators are its kernels.
 * A kernel depends on an earlier one of its launch when their memory overlaps with at least one
 * write (read after write, and, because the memory plan reuses buffers, write after read and
 * write after write too).
 */
import type { KernelAccess } from "../runtime/program.js";
import type { Policy } from "./policies.js";
import type { ROperator, RProgram } from "./program.js";

export interface LaunchPlan {
  /** The kernels of the launch, in program order; rOperator i is kernels[i]. */
  readonly kernels: readonly number[];
  readonly ops: readonly ROperator[];
  readonly program: RProgram;
}

type Range = KernelAccess["reads"][number];
const overlap = (a: readonly Range[], b: readonly Range[]) =>
  a.some((x) => b.some((y) => x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes));

/**
 * Operators whose split tasks take at least this long (by the profile) run them dynamically when
 * split across every vEU: a vEU that reaches the operator late, or loses its core for a while
 * (this machine is shared), leaves its share to the others instead of holding them up (NASNet-A
 * on 2 vEUs: 10.7 -> 9.5 ms). Shorter tasks keep fixed shares: share v of an RNN step's
 * matrix-vector product reads the same slice of the weights on vEU v at every step, which stays
 * in that core's cache, and dynamic chunks would scatter it (LSTM-TC: 21 -> 27.5 ms with every
 * split operator dynamic).
 */
export const DYNAMIC_MIN_MS = 0.05;

/** The operators of a launch whose tasks share their loop dynamically (the kernel ABI's `counter`). */
export function dynamicOps(plan: LaunchPlan): number[] {
  const veus = plan.program.veus;
  if (veus < 2) return [];
  const split = new Set<number>();
  for (const list of plan.program.lists) for (const e of list) if (e.kind === "task" && e.task.shares === veus) split.add(e.task.op);
  return [...split].filter((op) => plan.ops[op]!.cost.get(veus)! >= DYNAMIC_MIN_MS);
}

/**
 * Which of `writers` (in program order) produced the bytes `reads` covers: for each range, the
 * latest writers back to the one that leaves no byte of it unwritten (the memory plan reuses
 * buffers, so an earlier writer of the same bytes is not an input). Indices into `writers`.
 */
function lastWriters(reads: readonly Range[], writers: readonly (readonly Range[])[]): number[] {
  const found = new Set<number>();
  for (const r of reads) {
    let open: [number, number][] = [[r.offset, r.offset + r.bytes]];
    for (let j = writers.length - 1; j >= 0 && open.length > 0; j--) {
      for (const w of writers[j]!) {
        const [a, b] = [w.offset, w.offset + w.bytes];
        if (!open.some(([x, y]) => x < b && a < y)) continue;
        found.add(j);
        open = open.flatMap(([x, y]): [number, number][] => [...(x < a ? [[x, Math.min(y, a)] as [number, number]] : []), ...(b < y ? [[Math.max(x, b), y] as [number, number]] : [])]);
      }
    }
  }
  return [...found].sort((a, b) => a - b);
}

export function planLaunch(kernels: readonly number[], access: readonly KernelAccess[], cost: (kernel: number, shares: number) => number,
  granularities: readonly number[], veus: number, policy: Policy): LaunchPlan {
  const written = kernels.flatMap((k) => access[k]!.writes);
  const ops: ROperator[] = kernels.map((k, id) => {
    const mine = access[k]!;
    const deps: number[] = [];
    for (let j = 0; j < id; j++) {
      const other = access[kernels[j]!]!;
      if (overlap(other.writes, [...mine.reads, ...mine.writes]) || overlap(other.reads, mine.writes)) deps.push(j);
    }
    const inputs = lastWriters(mine.reads, deps.map((j) => access[kernels[j]!]!.writes)).map((i) => deps[i]!);
    const readOnly = mine.reads.filter((r) => !overlap(written, [r]));
    const weights = readOnly.reduce<Range | undefined>((big, r) => (r.bytes > (big?.bytes ?? 0) ? r : big), undefined);
    return { id, deps, inputs, cost: new Map(granularities.map((s) => [s, cost(k, s)])), ...(weights ? { weights } : {}) };
  });
  return { kernels, ops, program: policy(ops, veus) };
}
