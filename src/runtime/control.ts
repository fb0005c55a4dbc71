/**
 * The control block the threads share: a few Int32 cells in the shared memory.
 *   EPOCH    bumped by the main thread to start a step (workers wait for it to change);
 *   KERNEL   the kernel to run in that step, or STOP to end the workers' loop;
 *   ARRIVED  how many workers finished the step (the main thread waits for all of them);
 *   NEXT     the next iteration of the step's parallel loop to hand out (every thread passes its
 *            address as the kernel's `counter`, so they share the loop dynamically); 0 at the
 *            start of every step;
 *   FAILED   0, or 1 + the index of a thread whose share of a step threw (a wasm trap); it stays
 *            set: the pool is broken from then on;
 *   COUNTERS, COUNTERS_BYTES  a Rammer launch's progress counters (0 bytes for a plain kernel):
 *            a thread whose share threw marks them all complete, so no other vEU waits forever
 *            on the counter the failed one would have bumped.
 * Every access is an Atomics operation, which is sequentially consistent, so the kernels'
 * plain writes before a worker's Atomics.add(ARRIVED) are visible to the main thread once it
 * reads the final count, and the main thread's writes before bumping EPOCH are visible to a
 * worker that sees the new epoch.
 */
export const EPOCH = 0;
export const KERNEL = 1;
export const ARRIVED = 2;
export const NEXT = 3;
export const FAILED = 4;
export const COUNTERS = 5;
export const COUNTERS_BYTES = 6;
export const CONTROL_INTS = 7;
export const CONTROL_BYTES = CONTROL_INTS * 4;
export const STOP = -1;

/** A counter value every Rammer wait is satisfied by (waits compare with i32.ge_s). */
const COMPLETE = 0x7fffffff;

/** After `thread`'s share threw: record it and release every vEU waiting on the launch's counters. */
export function markFailed(control: Int32Array, thread: number): void {
  Atomics.compareExchange(control, FAILED, 0, thread + 1);
  const counters = new Int32Array(control.buffer, Atomics.load(control, COUNTERS), Atomics.load(control, COUNTERS_BYTES) >> 2);
  for (let i = 0; i < counters.length; i++) {
    Atomics.store(counters, i, COMPLETE);
    Atomics.notify(counters, i);
  }
}
