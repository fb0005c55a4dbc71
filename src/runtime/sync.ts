/**
 * Waiting on a shared Int32Array cell: spin first, block only after a bounded spin. On this
 * machine a spin handoff costs ~0.1 µs while an Atomics.wait/notify round trip costs 20-55 µs
 * (an idle vCPU halts and is slow to wake), so short waits must not block.
 */

/** Spins before blocking; ~50 µs of polling at a few ns per iteration. */
export const SPIN_LIMIT = 20_000;

/** Wait until `view[index]` differs from `current`; returns the new value. Workers only: it may block forever. */
export function waitWhileEquals(view: Int32Array, index: number, current: number): number {
  for (let i = 0; i < SPIN_LIMIT; i++) {
    const v = Atomics.load(view, index);
    if (v !== current) return v;
  }
  for (;;) {
    const v = Atomics.load(view, index);
    if (v !== current) return v;
    Atomics.wait(view, index, current);
  }
}

/** How long the main thread may block on one wait before it awaits instead (and so hears a worker's death). */
export const BLOCK_MS = 10;

/**
 * Spin, then (where the thread may block) block for at most BLOCK_MS, until `view[index]`
 * reaches `target` (a counter that only grows); false if it did not. A blocked wait wakes in
 * 20-55 µs; an await also waits for the event loop's turn, so it is kept for waits that are long anyway.
 */
export function waitUntilBounded(view: Int32Array, index: number, target: number, mayBlock: boolean): boolean {
  for (let i = 0; i < SPIN_LIMIT; i++) if (Atomics.load(view, index) >= target) return true;
  if (!mayBlock) return false;
  const end = performance.now() + BLOCK_MS;
  for (;;) {
    const v = Atomics.load(view, index);
    if (v >= target) return true;
    const left = end - performance.now();
    if (left <= 0) return false;
    Atomics.wait(view, index, v, left);
  }
}

type WaitAsync = (view: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<unknown> | string };

/** How often an asynchronous wait looks at `failed` even without a notify. */
const POLL_MS = 100;

/**
 * Wait without blocking the thread until `view[index]` reaches `target`: the event loop keeps
 * running (timers, a worker's 'exit' event), and a browser's main thread, which may not block,
 * can wait too. `failed()` is asked after every wake-up; an error it returns is thrown.
 */
export async function waitUntilAsync(view: Int32Array, index: number, target: number, failed: () => Error | undefined): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  // A pending waitAsync does not keep Node's event loop alive; this timer does, so the process
  // does not go idle (and close the pools, see whenIdle) in the middle of a run.
  const alive = setInterval(() => undefined, 1 << 30);
  try {
    for (;;) {
      const error = failed();
      if (error) throw error;
      const v = Atomics.load(view, index);
      if (v >= target) return;
      const r = waitAsync(view, index, v, POLL_MS);
      if (r.async) await r.value;
    }
  } finally {
    clearInterval(alive);
  }
}
