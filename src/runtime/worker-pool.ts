/**
 * The worker pool: persistent threads over one shared WebAssembly.Memory, started once. The
 * calling thread is worker 0 and does its share of every step instead of sleeping, so
 * `threads` counts it (never more busy threads than cores). Each `run(k)` is one step: wake the
 * workers, run kernel k's share here, wait at the barrier for the others.
 *
 * Failures: a share that throws (a wasm trap) is caught on whichever thread runs it, recorded
 * in the control block (markFailed), and the thread still arrives at the barrier; a worker that
 * exits or errors is recorded from its event. Either breaks the pool: the step and every later
 * one reject with the same KernelError. The barrier is spun, then blocked on for at most
 * BLOCK_MS, then awaited with Atomics.waitAsync, so the main thread never blocks for long and
 * sees a worker's death while it waits (the Executor also yields to the event loop between steps).
 * Inside a Rammer launch a wait gives the thread back after a while (dispatch.ts), and this
 * thread yields to the event loop before it resumes the launch, for the same reason.
 */
import { InternalError, KernelError } from "../ir/errors.js";
import { ARRIVED, CONTROL_INTS, COUNTERS, COUNTERS_BYTES, EPOCH, FAILED, KERNEL, NEXT, STOP, markFailed } from "./control.js";
import type { ByteRange } from "./program.js";
import type { KernelModule } from "../codegen/kernel-module.js";
import { instantiateKernels, type Kernel } from "./kernel-module.js";
import { canBlock, startWorker, type WorkerHandle, whenIdle, yieldToEventLoop } from "./platform.js";
import { waitUntilAsync, waitUntilBounded } from "./sync.js";
import type { WorkerInit } from "./worker-entry.js";

export interface PoolStats {
  /** Steps run (each is one wake-up of every worker and one barrier). */
  readonly steps: number;
}

/** Pools not closed yet; closed when the process goes idle, so an unreleased session never keeps it alive. */
const openPools = new Set<WorkerPool>();
const closeOpenPools = () => openPools.forEach((p) => void p.close());

export class WorkerPool {
  private steps = 0;
  private closed = false;
  private readonly mayBlock = canBlock();

  private constructor(
    readonly threads: number,
    private readonly control: Int32Array,
    /** The NEXT cell's address: the threads share each kernel's parallel loop through it. */
    private readonly counter: number,
    private readonly kernels: Kernel[],
    private readonly workers: WorkerHandle[],
    /** Trap messages by thread index (0 is this thread). */
    private readonly traps: string[],
  ) {}

  /** Why the pool cannot run, once a share threw or a worker died. */
  private failure: KernelError | undefined;

  private break(error: KernelError): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    // Wake a waitUntilAsync on the barrier so it sees the failure now.
    Atomics.notify(this.control, ARRIVED);
  }

  /** Start `threads - 1` workers running `module`; `controlOffset` points at CONTROL_BYTES of the memory reserved for the pool. */
  static async create(memory: WebAssembly.Memory, module: KernelModule, threads: number, controlOffset: number): Promise<WorkerPool> {
    if (!Number.isInteger(threads) || threads < 1) throw new InternalError(`WorkerPool: threads must be a positive integer, got ${threads}`);
    const control = new Int32Array(memory.buffer, controlOffset, CONTROL_INTS);
    control.fill(0);
    const kernels = await instantiateKernels(module, memory);
    const url = new URL("./worker-entry.js", import.meta.url);
    // Set once the pool exists; a worker's trap message, by thread index, arrives before it reaches the barrier.
    let pool: WorkerPool | undefined;
    const traps: string[] = [];
    const workers = await Promise.all(Array.from({ length: threads - 1 }, async (_, i) => {
      const w = await startWorker(url);
      await new Promise<void>((resolve, reject) => {
        w.onMessage((m) => {
          const msg = m as { ready?: boolean; error?: string; trap?: string };
          if (msg.error) reject(new InternalError(`worker ${i + 1} failed to start: ${msg.error}`));
          else if (msg.ready) resolve();
          else if (msg.trap !== undefined) traps[i + 1] = msg.trap;
        });
        w.onError((e) => {
          reject(e);
          pool?.break(new KernelError(`worker ${i + 1} failed: ${e.message}`));
        });
        w.onExit((code) => {
          const error = new KernelError(`worker ${i + 1} exited (code ${code})`);
          reject(error);
          pool?.break(error);
        });
        const init: WorkerInit = { memory, module, controlOffset, index: i + 1, workers: threads };
        w.post(init);
      });
      // A session the caller never released must not keep the process alive (see whenIdle).
      w.unref();
      return w;
    }));
    pool = new WorkerPool(threads, control, controlOffset + NEXT * 4, kernels, workers, traps);
    if (openPools.size === 0) whenIdle(closeOpenPools);
    openPools.add(pool);
    return pool;
  }

  /**
   * Run kernel k on every thread; `counters` are a Rammer launch's progress counters (marked
   * complete if a share throws). Returns nothing when the step finished within the barrier's
   * spin, else a promise of its end; either way a failed step throws a KernelError.
   */
  run(k: number, counters?: ByteRange): Promise<void> | undefined {
    if (this.closed) throw new InternalError("WorkerPool: run after close");
    if (this.failure) throw this.failure;
    const kernel = this.kernels[k];
    if (!kernel) throw new InternalError(`WorkerPool: no kernel ${k}`);
    this.steps++;
    const c = this.control;
    Atomics.store(c, NEXT, 0);
    Atomics.store(c, COUNTERS, counters?.offset ?? 0);
    Atomics.store(c, COUNTERS_BYTES, counters?.bytes ?? 0);
    if (this.threads > 1) {
      Atomics.store(c, KERNEL, k);
      Atomics.store(c, ARRIVED, 0);
      Atomics.add(c, EPOCH, 1);
      Atomics.notify(c, EPOCH);
    }
    const from = this.share(kernel, 0);
    if (from) return this.resume(kernel, from).then(() => this.barrier());
    return this.barrier();
  }

  /** This thread's share; nonzero when a launch's wait took long and must be resumed from there. */
  private share(kernel: Kernel, from: number): number {
    try {
      return kernel(0, this.threads, 0, this.counter, from) ?? 0;
    } catch (e) {
      this.traps[0] = String(e);
      markFailed(this.control, 0);
      return 0;
    }
  }

  /** A stalled launch: let the event loop run (a dead worker's 'exit' is heard there), then go on where it stopped. */
  private async resume(kernel: Kernel, from: number): Promise<void> {
    while (from) {
      await yieldToEventLoop();
      if (this.failure) throw this.failure;
      if (this.closed) throw new InternalError("WorkerPool: closed during a launch");
      from = this.share(kernel, from);
    }
  }

  private barrier(): Promise<void> | undefined {
    const c = this.control, workers = this.threads - 1;
    if (waitUntilBounded(c, ARRIVED, workers, this.mayBlock)) return this.checkStep();
    return waitUntilAsync(c, ARRIVED, workers, () => this.failure).then(() => this.checkStep());
  }

  /** After the barrier: nothing if the step succeeded, else a rejection naming the trap. */
  private checkStep(): Promise<void> | undefined {
    const failed = Atomics.load(this.control, FAILED);
    if (failed === 0) return undefined;
    return this.trapMessage(failed - 1).then((message) => {
      this.break(new KernelError(`a kernel trapped on thread ${failed - 1}: ${message}`));
      throw this.failure!;
    });
  }

  /** A worker posts its trap's message before it arrives, but the message is delivered by the event loop. */
  private async trapMessage(thread: number): Promise<string> {
    for (let i = 0; i < 1000 && this.traps[thread] === undefined; i++) await new Promise((r) => setTimeout(r, 1));
    return this.traps[thread] ?? "(its message did not arrive)";
  }

  get stats(): PoolStats {
    return { steps: this.steps };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openPools.delete(this);
    Atomics.store(this.control, KERNEL, STOP);
    Atomics.add(this.control, EPOCH, 1);
    Atomics.notify(this.control, EPOCH);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
