/**
 * `kiln inspect` with --input-shape and --input: the lowering section of models with symbolic
 * dims and a scalar If condition (Silero VAD, PaddleOCR detection), every node compiled; and
 * what the options reject.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../helpers.js";

const run = promisify(execFile);
const KILN = join(ROOT, "dist", "src", "cli", "main.js");
const VAD = join(ROOT, "node_modules", "@ricky0123", "vad-web", "dist", "silero_vad_v5.onnx");
const DET = join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets", "ch_PP-OCRv4_det_infer.onnx");

async function inspect(...args: string[]): Promise<{ lowering: { kernels: number; reference: unknown[] }; memory: { arenaBytes: number } }> {
  const { stdout } = await run(process.execPath, [KILN, "inspect", ...args, "--json"], { maxBuffer: 1 << 28 });
  return JSON.parse(stdout);
}

describe("kiln inspect --input-shape / --input", { timeout: 300_000 }, () => {
  it("compiles Silero VAD at 16 kHz and 8 kHz with no node on the interpreter", async () => {
    for (const [sr, samples] of [[16000, 512], [8000, 256]]) {
      const r = await inspect(VAD, "--input-shape", `input=1x${samples}`, "--input", `sr=${sr}`);
      assert.deepEqual(r.lowering.reference, [], `sr ${sr}`);
      assert.ok(r.lowering.kernels > 0);
    }
  });

  it("plans memory for the OCR detector at a bound shape", async () => {
    const r = await inspect(DET, "--input-shape", "x=1x3x64x96");
    assert.deepEqual(r.lowering.reference, []);
    assert.ok(r.memory.arenaBytes > 0);
  });

  it("takes a zoo model's name as --schedule and kiln run do", async () => {
    const r = await inspect("seq2seq");
    assert.deepEqual(r.lowering.reference, []);
    assert.ok(r.lowering.kernels > 100);
  });

  it("names what it rejects", async () => {
    await assert.rejects(inspect(DET, "--input-shape", "y=1x3"), /model has no input named "y"/);
    await assert.rejects(inspect(DET, "--input-shape", "x=1x3xfoo"), /dims must be non-negative integers/);
    await assert.rejects(inspect(VAD, "--input", "sr=fast"), /expected a .npy file, random or a number/);
  });
});
