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

export function planLaunch(kernels: readonly number[], access: readonly KernelAccess[], cost: (kernel: number, shares: number) => number,
  granularities: readonly number[], veus: number, policy: Policy): LaunchPlan {
  const ops: ROperator[] = kernels.map((k, id) => {
    const mine = access[k]!;
    const deps: number[] = [];
    for (let j = 0; j < id; j++) {
      const other = access[kernels[j]!]!;
      if (overlap(other.writes, [...mine.reads, ...mine.writes]) || overlap(other.reads, mine.writes)) deps.push(j);
    }
    return { id, deps, cost: new Map(granularities.map((s) => [s, cost(k, s)])) };
  });
  return { kernels, ops, program: policy(ops, veus) };
}
