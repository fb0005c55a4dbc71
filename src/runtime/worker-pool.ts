/**
 * The worker pool: persistent threads over one shared WebAssembly.Memory, started once. The
 * calling thread is worker 0 and does its share of every step instead of sleeping, so
 * `threads` counts it (never more busy threads than cores). Each `run(k)` is one step: wake the
 * workers, run kernel k's share here, wait at the barrier for the others.
 */
import { InternalError } from "../ir/errors.js";
import { ARRIVED, CONTROL_INTS, EPOCH, KERNEL, NEXT, STOP } from "./control.js";
import type { KernelModule } from "../codegen/kernel-module.js";
import { instantiateKernels, type Kernel } from "./kernel-module.js";
import { canBlock, startWorker, type WorkerHandle, whenIdle } from "./platform.js";
import { waitUntil } from "./sync.js";
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

  private constructor(
    readonly threads: number,
    private readonly control: Int32Array,
    /** The NEXT cell's address: the threads share each kernel's parallel loop through it. */
    private readonly counter: number,
    private readonly kernels: Kernel[],
    private readonly workers: WorkerHandle[],
  ) {}

  /** Start `threads - 1` workers running `module`; `controlOffset` points at CONTROL_BYTES of the memory reserved for the pool. */
  static async create(memory: WebAssembly.Memory, module: KernelModule, threads: number, controlOffset: number): Promise<WorkerPool> {
    if (!Number.isInteger(threads) || threads < 1) throw new InternalError(`WorkerPool: threads must be a positive integer, got ${threads}`);
    const control = new Int32Array(memory.buffer, controlOffset, CONTROL_INTS);
    control.fill(0);
    const kernels = await instantiateKernels(module, memory);
    const url = new URL("./worker-entry.js", import.meta.url);
    const workers = await Promise.all(Array.from({ length: threads - 1 }, async (_, i) => {
      const w = await startWorker(url);
      await new Promise<void>((resolve, reject) => {
        w.onMessage((m) => {
          const msg = m as { ready?: boolean; error?: string };
          if (msg.error) reject(new InternalError(`worker ${i + 1} failed to start: ${msg.error}`));
          else if (msg.ready) resolve();
        });
        w.onError(reject);
        const init: WorkerInit = { memory, module, controlOffset, index: i + 1, workers: threads };
        w.post(init);
      });
      // A session the caller never released must not keep the process alive (see whenIdle).
      w.unref();
      return w;
    }));
    const pool = new WorkerPool(threads, control, controlOffset + NEXT * 4, kernels, workers);
    if (openPools.size === 0) whenIdle(closeOpenPools);
    openPools.add(pool);
    return pool;
  }

  /** Run kernel k on every thread and return when all have finished. */
  run(k: number): void {
    if (this.closed) throw new InternalError("WorkerPool: run after close");
    const kernel = this.kernels[k];
    if (!kernel) throw new InternalError(`WorkerPool: no kernel ${k}`);
    this.steps++;
    Atomics.store(this.control, NEXT, 0);
    if (this.threads > 1) {
      Atomics.store(this.control, KERNEL, k);
      Atomics.store(this.control, ARRIVED, 0);
      Atomics.add(this.control, EPOCH, 1);
      Atomics.notify(this.control, EPOCH);
    }
    kernel(0, this.threads, 0, this.counter);
    if (this.threads > 1) waitUntil(this.control, ARRIVED, this.threads - 1, canBlock());
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
