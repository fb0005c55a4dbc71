/**
 * The Rammer executor's one function per launch: `run(veu, veus)` is called once by every
 * worker and runs that vEU's list of an rProgram: each task is a call of its kernel's share
 * (`k(share, shares, veu, counter)`, the vEU's own scratch; `counter` is 0 for a fixed share, or
 * the operator's own counter when its tasks share its loop dynamically), followed by bumping the vEU's progress
 * counter; each wait spins on another vEU's counter until it reaches the count, blocking in
 * memory.atomic.wait32 only after a bounded spin.
 *
 * Why the memory ordering is right: wasm atomics are sequentially consistent. A task's plain
 * stores come before its counter's atomic add in program order; a waiter's atomic load that
 * reads the new count synchronizes with that add, so every plain store of the task (and of
 * everything that vEU ran before it) happens-before the waiter's next plain loads. Counters are
 * reset by the launching thread before it publishes the launch (the pool's epoch is an atomic),
 * so no worker reads a stale count. A waiter that blocks first counts itself in `sleepers`,
 * then reads the counter again and blocks naming the value it saw; a task's end notifies only
 * when it reads `sleepers` as nonzero after its add (a notify enters the engine's futex table
 * under a lock, which most task ends can skip). It cannot sleep through the count it needs: in
 * the single total order of these atomics, either the notifier's read of `sleepers` comes after
 * the waiter's count (so it notifies, and a wait that starts later sees the new value and does
 * not block), or it comes before, and then so does the add, which the waiter's second read sees.
 * The wait also has a timeout, a guard against a lost wake-up costing more than a millisecond.
 *
 * A wait never holds its thread for long: after STALL_NAPS timed blocks without its count it
 * returns `i + 1`, i its entry's index, and the caller calls again with `from` = that value to
 * resume there (0 runs the whole list; the call returns 0 when the list is done). The host's
 * thread uses the pause to hear its event loop (a worker's death, timers), so a dead worker
 * cannot freeze it; a worker calls again at once.
 *
 * A traced launch also stores the host's clock (an imported `env.now`, in ms) when the vEU
 * starts and after each entry of its list, so a task's measured time is the gap between its
 * stamp and the one before (`kiln inspect --schedule`); an untraced one calls nothing.
 */
import type { FuncRef, FunctionBuilder } from "./function.js";
import type { ModuleBuilder } from "./module.js";
import { InternalError } from "../../ir/errors.js";

export type DispatchEntry =
  /** `counter`: 0 to run the fixed share, else the address of the i32 its tasks take chunks from (0 when the launch starts). */
  | { readonly kind: "task"; readonly kernel: number; readonly share: number; readonly shares: number; readonly counter: number }
  | { readonly kind: "wait"; readonly veu: number; readonly count: number };

export interface DispatchLayout {
  /** Byte offset of vEU v's progress counter: counters + v * stride. */
  readonly counters: number;
  readonly stride: number;
  /** An i32 cell counting waits that found their count not yet reached (synchronisations). */
  readonly blocked: number;
  /** An i32 cell counting the waiters that may be blocked in memory.atomic.wait32. */
  readonly sleepers: number;
  /** When traced: vEU v's f64 timestamps start at trace.offset + v * trace.stride (1 + its list's length of them). */
  readonly trace?: { readonly offset: number; readonly stride: number };
}

/** Spins before blocking (~50 µs, as the pool does: a wake-up from a block costs 20-55 µs). */
const SPIN_LIMIT = 20_000;
const TIMEOUT_NS = 1_000_000n;
/** Timed blocks (at most TIMEOUT_NS each) a wait takes before it returns to its caller. */
const STALL_NAPS = 50;

/** `clock` is the imported `env.now`, needed when `layout.trace` is set. */
export function emitDispatch(m: ModuleBuilder, kernels: readonly FunctionBuilder[], lists: readonly (readonly DispatchEntry[])[], layout: DispatchLayout, name: string, clock?: FuncRef): FunctionBuilder {
  const fb = m.function(name, ["i32", "i32", "i32", "i32", "i32"], ["i32"]);
  const veu = fb.params[0]!, from = fb.params[4]!;
  const spins = fb.local("i32", "spins");
  const naps = fb.local("i32", "naps");
  const trace = layout.trace;
  if (trace && !clock) throw new InternalError("a traced launch needs the clock import");
  /** Entry i (-1: the start) runs unless the call resumes after it. */
  const unlessDone = (i: number, body: () => void) => {
    fb.localGet(from); fb.i32Const(i + 1); fb.op("i32.le_u");
    fb.if(); body(); fb.end();
  };
  lists.forEach((list, v) => {
    const stamp = (i: number) => {
      if (!trace) return;
      fb.i32Const(trace.offset + v * trace.stride + 8 * i); fb.call(clock!); fb.mem("f64.store", { offset: 0 });
    };
    fb.localGet(veu); fb.i32Const(v); fb.op("i32.eq");
    fb.if();
    if (trace) unlessDone(-1, () => stamp(0));
    list.forEach((e, i) => unlessDone(i, () => {
      if (e.kind === "task") {
        fb.i32Const(e.share); fb.i32Const(e.shares); fb.i32Const(v); fb.i32Const(e.counter);
        fb.call(kernels[e.kernel]!);
        const at = layout.counters + v * layout.stride;
        fb.i32Const(at); fb.i32Const(1); fb.mem("i32.atomic.rmw.add", { offset: 0 }); fb.drop();
        fb.i32Const(layout.sleepers); fb.mem("i32.atomic.load", { offset: 0 });
        fb.if();
        fb.i32Const(at); fb.i32Const(0x7fffffff); fb.mem("memory.atomic.notify", { offset: 0 }); fb.drop();
        fb.end();
      } else emitWait(fb, { spins, naps }, layout, e.veu, e.count, i + 1);
      stamp(i + 1);
    }));
    fb.i32Const(0);
    fb.return();
    fb.end();
  });
  fb.i32Const(0);
  fb.finish();
  return fb;
}

type Local = ReturnType<FunctionBuilder["local"]>;

/** Waits for vEU `veu`'s counter to reach `count`, or returns `stalled` after STALL_NAPS blocks. */
function emitWait(fb: FunctionBuilder, locals: { spins: Local; naps: Local }, layout: DispatchLayout, veu: number, count: number, stalled: number): void {
  const { spins, naps } = locals;
  const at = layout.counters + veu * layout.stride;
  const reached = () => { fb.i32Const(at); fb.mem("i32.atomic.load", { offset: 0 }); fb.i32Const(count); fb.op("i32.ge_s"); };
  const done = fb.block();
  reached(); fb.brIf(done);
  fb.i32Const(layout.blocked); fb.i32Const(1); fb.mem("i32.atomic.rmw.add", { offset: 0 }); fb.drop();
  fb.i32Const(0); fb.localSet(spins);
  fb.i32Const(0); fb.localSet(naps);
  const spin = fb.loop();
  reached(); fb.brIf(done);
  fb.localGet(spins); fb.i32Const(1); fb.op("i32.add"); fb.localTee(spins);
  fb.i32Const(SPIN_LIMIT); fb.op("i32.lt_u"); fb.brIf(spin);
  // Count in as a sleeper, look again, and block until the counter changes from the value just
  // seen (or the timeout); then count out and look again, or give the thread back.
  const sleepers = (delta: number) => { fb.i32Const(layout.sleepers); fb.i32Const(delta); fb.mem("i32.atomic.rmw.add", { offset: 0 }); fb.drop(); };
  sleepers(1);
  fb.i32Const(at); fb.i32Const(at); fb.mem("i32.atomic.load", { offset: 0 }); fb.i64Const(TIMEOUT_NS);
  fb.mem("memory.atomic.wait32", { offset: 0 }); fb.drop();
  sleepers(-1);
  fb.localGet(naps); fb.i32Const(1); fb.op("i32.add"); fb.localTee(naps);
  fb.i32Const(STALL_NAPS); fb.op("i32.ge_u");
  fb.if(); fb.i32Const(stalled); fb.return(); fb.end();
  fb.br(spin);
  fb.end();
  fb.end();
}
