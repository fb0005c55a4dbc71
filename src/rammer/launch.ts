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
