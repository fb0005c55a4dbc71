/**
 * onnxruntime-web's wasm backend running a one-node ONNX model. Its thread count is fixed when
 * its wasm module starts, so a process measures one thread count.
 */
import * as ort from "onnxruntime-web";

export class OrtRunner {
  private constructor(private readonly session: ort.InferenceSession, private readonly feeds: Record<string, ort.Tensor>) {}

  static async create(model: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>, threads: number): Promise<OrtRunner> {
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor("float32", v.data, v.dims)]));
    return new OrtRunner(session, tensors);
  }

  async run(): Promise<void> {
    await this.session.run(this.feeds);
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
