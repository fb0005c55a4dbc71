/**
 * The runtimes under test behind one interface. Each loader imports its library only when
 * called, so a child process holds (and its peak RSS counts) just the runtime it measures. Nothing
 * is released: the child exits once it has measured.
 */
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from "onnxruntime-node";
import type { DType, TypedArray } from "../../src/ir/dtype.js";
import { Tensor } from "../../src/ir/tensor.js";

/** In the order the harness runs them: onnxruntime-node first, as the numerics reference. */
export const RUNTIMES = ["ort-node", "kiln", "ort-web", "tfjs"] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface Runner {
  /** One inference on the feeds given at load. */
  run(): Promise<Record<string, Tensor>>;
  /** Facts worth recording next to the timings. */
  notes?(): Promise<Record<string, unknown>>;
}

type Load = (model: Uint8Array, feeds: Readonly<Record<string, Tensor>>, threads: number) => Promise<Runner>;

export const LOADERS: Record<RuntimeName, Load> = {
  async kiln(model, feeds, threads) {
    const { InferenceSession } = await import("../../src/api.js");
    const { tuneNodeEngine } = await import("../../src/codegen/wasm/features.js");
    await tuneNodeEngine(); // as the README advises programs that own their process
    const session = await InferenceSession.create(model, { threads });
    return {
      run: () => session.run(feeds),
      async notes() {
        // Nodes left to the reference interpreter explain a slow figure.
        const fallbacks = await session.fallbacks();
        return { executor: session.executor, referenceNodes: fallbacks.length, referenceOps: [...new Set(fallbacks.map((f) => f.slice(0, f.indexOf(": "))))] };
      },
    };
  },
  async "ort-node"(model, feeds, threads) {
    const ort = await import("onnxruntime-node");
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ["cpu"], graphOptimizationLevel: "all", intraOpNumThreads: threads, logSeverityLevel: 3,
    });
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, t.shape)]));
    return { run: async () => fromOrt(await session.run(inputs)) };
  },
  async "ort-web"(model, feeds, threads) {
    const { OrtRunner } = await import("../ort-runner.js");
    const runner = await OrtRunner.create(model, Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { type: t.dtype, data: t.data, dims: t.shape }])), threads);
    return { run: async () => fromOrt(await runner.run()) };
  },
  async tfjs(model, feeds) {
    const { TfjsRunner } = await import("./tfjs-runner.js");
    const runner = await TfjsRunner.create(model, feeds);
    // tfjs-backend-wasm's threaded build does not load in Node (tensorflow/tfjs#3830): one thread.
    return { run: () => runner.run(), notes: async () => ({ threads: 1 }) };
  },
};

function fromOrt(outputs: OrtSession.OnnxValueMapType): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => {
    const t = v as OrtTensor;
    return [k, new Tensor(t.type as DType, t.dims, t.data as TypedArray)];
  }));
}
