/**
 * One fuzz case on onnxruntime-node, inside a fuzz child: the same mutated bytes and the feeds
 * kiln ran (or, when kiln did not get that far, the seed model's inputs by position). ORT has no
 * typed errors: any throw is `error`.
 */
import * as ort from "onnxruntime-node";
import { errorInfo, type ErrorInfo, type Feeds, type WireTensor } from "./case.js";

export interface OrtResult {
  readonly class: "ok" | "error";
  readonly error?: ErrorInfo;
}

const toOrt = (t: WireTensor) => new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as ort.Tensor.DataType, [...t.shape]);

export async function runOrtCase(bytes: Uint8Array, feedSets: readonly Feeds[], inputs: readonly WireTensor[]): Promise<OrtResult> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    return { class: "error", error: errorInfo(e) };
  }
  const sets = feedSets.length > 0 ? feedSets
    : [Object.fromEntries(session.inputNames.map((n, i) => [n, inputs[i] ?? inputs[0] ?? { dtype: "float32", shape: [], data: new Float32Array(1) }]))];
  let result: OrtResult = { class: "error", error: { name: "Error", message: "no run succeeded", frames: [] } };
  try {
    for (const f of sets) {
      try {
        await session.run(Object.fromEntries(Object.entries(f).map(([k, t]) => [k, toOrt(t)])));
        result = { class: "ok" };
      } catch (e) {
        if (result.class !== "ok") result = { class: "error", error: errorInfo(e) };
      }
    }
  } finally {
    await session.release().catch(() => undefined);
  }
  return result;
}
