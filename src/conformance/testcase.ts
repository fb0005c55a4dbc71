/** One ONNX backend test folder: model.onnx plus test_data_set_N/input_N.pb and output_N.pb. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InferenceSession, type Backend, type ExecutorKind } from "../api.js";
import { KilnError, UnsupportedError } from "../ir/errors.js";
import { decodeTensor } from "../frontend/onnx/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { compareTensors } from "./compare.js";

export type Status = "passed" | "failed" | "unsupported" | "error";

export interface TestResult {
  readonly name: string;
  readonly status: Status;
  readonly reason?: string;
  readonly ms: number;
  /** Nodes that ran on the reference interpreter under a compiling backend (`op: reason`). */
  readonly fallbacks?: readonly string[];
}

function readSet(dir: string, prefix: "input" | "output"): Tensor[] {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`) && f.endsWith(".pb"));
  files.sort((a, b) => parseInt(a.slice(prefix.length + 1), 10) - parseInt(b.slice(prefix.length + 1), 10));
  return files.map((f) => decodeTensor(new Uint8Array(readFileSync(join(dir, f)))));
}

export async function runTestCase(dir: string, name: string, backend: Backend, executor: ExecutorKind = "op-by-op"): Promise<TestResult> {
  const t0 = performance.now();
  const done = (status: Status, reason?: string): TestResult => ({ name, status, reason, ms: performance.now() - t0 });
  try {
    const modelPath = join(dir, "model.onnx");
    if (!existsSync(modelPath)) return done("error", "no model.onnx in the test folder");
    // Tests run side by side on the conformance pool's threads, so each runs its kernels on one.
    const session = await InferenceSession.create(modelPath, { backend, executor, threads: 1 });
    try {
      const result = await runSets(session);
      const fallbacks = await session.fallbacks();
      return fallbacks.length > 0 ? { ...result, fallbacks } : result;
    } finally {
      await session.release();
    }
  } catch (e) {
    if (e instanceof UnsupportedError) return done("unsupported", e.feature);
    if (e instanceof KilnError) return done("error", `${e.name}: ${e.message}`);
    return done("error", e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }

  async function runSets(session: InferenceSession): Promise<TestResult> {
    const sets = readdirSync(dir).filter((f) => f.startsWith("test_data_set_")).sort();
    if (sets.length === 0) return done("error", "no test_data_set_* folder");
    for (const set of sets) {
      const inputs = readSet(join(dir, set), "input");
      const expected = readSet(join(dir, set), "output");
      const names = session.inputNames;
      if (inputs.length !== names.length) {
        return done("error", `${set}: ${inputs.length} input files for ${names.length} model inputs`);
      }
      const outputs = await session.run(Object.fromEntries(names.map((n, i) => [n, inputs[i]!])));
      for (let i = 0; i < expected.length; i++) {
        const outName = session.outputNames[i]!;
        const diff = compareTensors(expected[i]!, outputs[outName]!);
        if (diff) return done("failed", `${set} output ${i} ("${outName}"): ${diff}`);
      }
    }
    return done("passed");
  }
}
