/** A runtime worker: instantiates the kernels, then runs one share of each step it is woken for. */
import { ARRIVED, CONTROL_INTS, EPOCH, KERNEL, NEXT, STOP, markFailed } from "./control.js";
import type { KernelModule } from "../codegen/kernel-module.js";
import { instantiateKernels } from "./kernel-module.js";
import { parentChannel } from "./platform.js";
import { waitWhileEquals } from "./sync.js";

export interface WorkerInit {
  readonly memory: WebAssembly.Memory;
  readonly module: KernelModule;
  readonly controlOffset: number;
  readonly index: number;
  readonly workers: number;
}

const channel = await parentChannel();
channel.onMessage((message) => {
  const init = message as WorkerInit;
  void instantiateKernels(init.module, init.memory).then((kernels) => {
    const control = new Int32Array(init.memory.buffer, init.controlOffset, CONTROL_INTS);
    const counter = init.controlOffset + NEXT * 4;
    // Read the epoch before saying ready: the first step may start as soon as the pool hears it.
    let epoch = Atomics.load(control, EPOCH);
    channel.post({ ready: true });
    for (;;) {
      epoch = waitWhileEquals(control, EPOCH, epoch);
      const k = Atomics.load(control, KERNEL);
      if (k === STOP) return;
      try {
        const kernel = kernels[k]!;
        // A launch that stalled on a wait resumes at once: this thread has nothing else to hear.
        for (let from = kernel(init.index, init.workers, init.index, counter); from; ) from = kernel(init.index, init.workers, init.index, counter, from);
      } catch (e) {
        // A trap ends this share only: say why, release the launch's waiters, and still arrive.
        channel.post({ trap: String(e) });
        markFailed(control, init.index);
      }
      if (Atomics.add(control, ARRIVED, 1) + 1 === init.workers - 1) Atomics.notify(control, ARRIVED);
    }
  }, (e: unknown) => channel.post({ error: String(e) }));
});
