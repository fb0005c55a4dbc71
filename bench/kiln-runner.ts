/**
 * Runs one kiln kernel (a schedule from src/lower/) the way the test harness does: lowered,
 * compiled to wasm, placed in one shared memory (inputs written once and kept there between
 * runs) and run through the worker pool.
 */
import { compileKernels } from "../src/codegen/wasm/compile-kernels.js";
import type { WasmFeatures } from "../src/codegen/wasm/opcodes.js";
import { shapeSize } from "../src/ir/tensor.js";
import { lower } from "../src/loopir/lower.js";
import { replay } from "../src/loopir/schedule.js";
import type { Kernel } from "../src/lower/schedule-gemm.js";
import { WorkerPool } from "../src/runtime/worker-pool.js";
import { placeAll } from "../test/codegen/loopir-wasm-harness.js";

const PAGE = 65536;

export class KilnRunner {
  private constructor(private readonly pool: WorkerPool, private readonly views: ReadonlyMap<string, Float32Array>) {}

  static async create(kernel: Kernel, inputs: Readonly<Record<string, Float32Array>>, threads: number, features: WasmFeatures): Promise<KilnRunner> {
    const f = lower(replay(kernel.outputs, kernel.steps));
    const { placement, bytes, decls } = placeAll([f], threads);
    const pages = Math.ceil(bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const views = new Map([...decls.values()].map((b) => [b.name, new Float32Array(memory.buffer, placement.buffers.get(b.name)!, shapeSize(b.shape))]));
    for (const [name, data] of Object.entries(inputs)) views.get(name)!.set(data);
    const pool = await WorkerPool.create(memory, compileKernels([f], placement, features), threads, 0);
    return new KilnRunner(pool, views);
  }

  async run(): Promise<void> {
    await this.pool.run(0);
  }

  view(name: string): Float32Array {
    return this.views.get(name)!;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
