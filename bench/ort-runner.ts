/**
 * onnxruntime-web's wasm backend running an ONNX model. Its thread count is fixed when its wasm
 * module starts, so a process measures one thread count.
 */
import * as ort from "onnxruntime-web";

/** An input: its data and dims, and its element type when not float32. */
export interface OrtFeed {
  readonly data: ort.Tensor.DataType;
  readonly dims: readonly number[];
  readonly type?: ort.Tensor.Type;
}

export class OrtRunner {
  private constructor(private readonly session: ort.InferenceSession, private readonly feeds: Record<string, ort.Tensor>) {}

  static async create(model: Uint8Array, feeds: Record<string, OrtFeed>, threads: number): Promise<OrtRunner> {
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.type ?? "float32", v.data, v.dims)]));
    return new OrtRunner(session, tensors);
  }

  run(): Promise<ort.InferenceSession.OnnxValueMapType> {
    return this.session.run(this.feeds);
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
