/**
 * A library never changes process-wide settings behind its user's back: compiling and running
 * models on wasm sets no V8 flag; only the explicit tuneNodeEngine() does.
 */
import assert from "node:assert/strict";
import { syncBuiltinESMExports } from "node:module";
import v8 from "node:v8";
import { it } from "node:test";
import { InferenceSession, tuneNodeEngine } from "../../src/index.js";
import { Tensor } from "../../src/ir/tensor.js";
import { modelBytes, vinfo } from "../helpers.js";

const flagsSet: string[] = [];
const setFlags = v8.setFlagsFromString;
v8.setFlagsFromString = (flags: string) => {
  flagsSet.push(flags);
  setFlags(flags);
};
syncBuiltinESMExports(); // dynamic import("node:v8") sees the spy too

const model = modelBytes({
  name: "relu",
  input: [vinfo("x", 1, [2, 64])],
  output: [vinfo("y", 1, [2, 64])],
  node: [{ opType: "Relu", input: ["x"], output: ["y"] }],
});
const x = Tensor.fromNumbers("float32", [2, 64], Array.from({ length: 128 }, (_, i) => i - 64));

it("compiling and running on wasm, with either executor, sets no V8 flag", async () => {
  for (const executor of ["op-by-op", "rammer"] as const) {
    const session = await InferenceSession.create(model, { backend: "wasm", threads: 2, executor });
    const { y } = await session.run({ x });
    assert.equal(y!.data[0], 0);
    assert.equal(y!.data[127], 63);
    await session.release();
  }
  assert.deepEqual(flagsSet, []);
});

it("tuneNodeEngine sets the flags it documents", async () => {
  await tuneNodeEngine();
  assert.ok(flagsSet.includes("--no-liftoff"), flagsSet.join(" "));
  assert.ok(flagsSet.includes("--no-wasm-lazy-compilation"), flagsSet.join(" "));
});
