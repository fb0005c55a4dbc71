/**
 * The control block the threads share: a few Int32 cells in the shared memory.
 *   EPOCH   bumped by the main thread to start a step (workers wait for it to change);
 *   KERNEL  the kernel to run in that step, or STOP to end the workers' loop;
 *   ARRIVED how many workers finished the step (the main thread waits for all of them);
 *   NEXT    the next iteration of the step's parallel loop to hand out (every thread passes its
 *           address as the kernel's `counter`, so they share the loop dynamically); 0 at the
 *           start of every step.
 * Every access is an Atomics operation, which is sequentially consistent, so the kernels'
 * plain writes before a worker's Atomics.add(ARRIVED) are visible to the main thread once it
 * reads the final count, and the main thread's writes before bumping EPOCH are visible to a
 * worker that sees the new epoch.
 */
export const EPOCH = 0;
export const KERNEL = 1;
export const ARRIVED = 2;
export const NEXT = 3;
export const CONTROL_INTS = 4;
export const CONTROL_BYTES = CONTROL_INTS * 4;
export const STOP = -1;
