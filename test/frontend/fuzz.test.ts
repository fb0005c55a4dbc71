/**
 * Seeded fuzzing of kiln (the fuzzer is fuzz/, `npm run fuzz`): a fixed seed and a fixed number of
 * cases on the default wasm backend with 2 threads (each run checked against the reference
 * interpreter) and on the reference backend alone, each case in a capped child process. kiln's
 * contract is that bad input fails with a KilnError naming the problem, quickly; an untyped error,
 * a disagreement with the reference, a hang or a crash fails the test. Below, targeted cases the
 * random mutations do not reach.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { InferenceSession, type Backend } from "../../src/api.js";
import { KilnError } from "../../src/ir/errors.js";
import { rng } from "../../src/ir/random.js";
import { Tensor } from "../../src/ir/tensor.js";
import { onnx, type OnnxTypes } from "../../src/frontend/onnx/proto.js";
import { decodeTensor, encodeTensor } from "../../src/frontend/onnx/tensor.js";
import { errorInfo } from "../../fuzz/case.js";
import { CURATED, loadSample } from "../../fuzz/corpus.js";
import { FAILING, runFuzz } from "../../fuzz/fuzz.js";
import { duplicateChunk, flipBytes, truncate } from "../../fuzz/mutations.js";
import { formatSummary } from "../../fuzz/report.js";
import { NODE_TESTS } from "../helpers.js";

/** The importer, inference and interpreter are fuzzed here; the code generators have their own tests. */
const OPTIONS = { maxTensorBytes: 64 * 2 ** 20, maxElements: 2 ** 24, backend: "reference" } as const;
const AT = onnx.AttributeProto.AttributeType;

/**
 * The budget is a case count, not a time, so that every run covers the same cases; the time
 * limit only stops a pathologically slow run (about 60 s for wasm, 25 s for reference on 2 cores).
 */
const SHARES: readonly { backend: Backend; cases: number; from: number }[] = [
  { backend: "wasm", cases: 150, from: 0 },
  { backend: "reference", cases: 600, from: 150 },
];

for (const share of SHARES) {
  test(`${share.cases} fuzz cases on the ${share.backend} backend: no untyped errors, mismatches, hangs or crashes`, { timeout: 180_000 }, async () => {
    const s = await runFuzz({ seed: 1, seconds: 150, cases: share.cases, from: share.from, backend: share.backend, threads: 2, workers: 2, ort: false, memoryCapMb: 3072 });
    console.log(formatSummary(s));
    assert.equal(s.cases, share.cases, "the time limit cut the run short");
    assert.ok(s.records.some((r) => r.kiln === "ok"), "no case ran at all: the harness is broken");
    assert.deepEqual(s.records.filter((r) => FAILING.includes(r.kiln)).map((r) => `${r.kiln}: ${r.description}: ${r.error?.name}: ${r.error?.message}`), []);
  });
}

test("fuzzed TensorProtos fail with KilnErrors", () => {
  const failures: string[] = [];
  const samples = CURATED.slice(0, 20).map((name) => loadSample("node", name));
  for (const [mi, sample] of samples.entries()) {
    for (const [ti, t] of sample.inputs.entries()) {
      const bytes = encodeTensor(t, "x");
      for (let k = 0; k < 8; k++) {
        const seed = mi * 100 + ti * 10 + k;
        const r = rng(seed);
        const [desc, mutated] = [flipBytes, truncate, duplicateChunk][k % 3]!(bytes, r);
        try {
          decodeTensor(mutated, { maxTensorBytes: OPTIONS.maxTensorBytes });
        } catch (e) {
          if (!(e instanceof KilnError)) failures.push(`${sample.name} input ${ti}: ${desc} (seed ${seed}): ${JSON.stringify(errorInfo(e))}`);
        }
      }
    }
  }
  assert.deepEqual(failures, []);
});

test("recursive functions and deeply nested subgraphs are KilnErrors", async () => {
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
  const call = (f: string, a: string, b: string) => ({ opType: f, domain: "my", input: [a], output: [b] });
  const fn = (name: string, body: OnnxTypes.INodeProto[]) => ({ name, domain: "my", input: ["a"], output: ["b"], node: body });
  const withFunctions = (functions: OnnxTypes.IFunctionProto[]) => onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: "", version: 17 }, { domain: "my", version: 1 }], functions,
    graph: { name: "g", input: [vi("x")], output: [vi("y")], node: [call("F", "x", "y")] },
  }).finish();
  let nested: OnnxTypes.IGraphProto = { name: "leaf", output: [vi("x")] };
  for (let i = 0; i < 2000; i++) {
    const branch = (g: OnnxTypes.IGraphProto) => ({ type: AT.GRAPH, g });
    nested = { name: `level${i}`, output: [vi(`o${i}`)], node: [{ opType: "If", input: ["c"], output: [`o${i}`],
      attribute: [{ name: "then_branch", ...branch(nested) }, { name: "else_branch", ...branch({ name: "e", output: [vi("x")] }) }] }] };
  }
  const deep = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph: {
    name: "g", input: [vi("x")], output: [vi("y")], initializer: [{ name: "c", dataType: 9, int32Data: [1] }],
    node: [...nested.node!, { opType: "Identity", input: ["o1999"], output: ["y"] }],
  } }).finish();
  const models = {
    "a function calling itself": withFunctions([fn("F", [call("F", "a", "b")])]),
    "mutually recursive functions": withFunctions([fn("F", [call("G", "a", "b")]), fn("G", [call("F", "a", "b")])]),
    "a function called 2^20 times": withFunctions(Array.from({ length: 20 }, (_, i) =>
      fn(i === 0 ? "F" : `F${i}`, i === 19 ? [{ opType: "Identity", input: ["a"], output: ["b"] }] : [call(`F${i + 1}`, "a", "t"), call(`F${i + 1}`, "t", "b")]))),
    "If nested 2000 deep": deep,
  };
  for (const [what, bytes] of Object.entries(models)) {
    await assert.rejects(InferenceSession.create(bytes, OPTIONS), (e) => e instanceof KilnError, what);
  }
});

test("a 50000-node chain stored in reverse order loads and runs quickly", async () => {
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
  const n = 50_000;
  const node = Array.from({ length: n }, (_, i) => ({ opType: "Identity", input: [i === 0 ? "x" : `v${i - 1}`], output: [i === n - 1 ? "y" : `v${i}`] }));
  const bytes = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "g", input: [vi("x")], output: [vi("y")], node: node.reverse() } }).finish();
  const t0 = performance.now();
  const session = await InferenceSession.create(bytes, OPTIONS);
  const out = await session.run({ x: Tensor.fromNumbers("float32", [2], [1, 2]) });
  assert.deepEqual(Array.from(out.y!.numbers()), [1, 2]);
  assert.ok(performance.now() - t0 < 10_000, `took ${Math.round(performance.now() - t0)} ms`);
});

test("unreadable sources and malformed feeds are InputErrors", async () => {
  const isInputError = (e: unknown) => e instanceof KilnError && e.name === "InputError";
  await assert.rejects(InferenceSession.create(join(NODE_TESTS, "no_such_test", "model.onnx")), isInputError);
  await assert.rejects(InferenceSession.create(NODE_TESTS), isInputError);
  const session = await InferenceSession.create(join(NODE_TESTS, "test_identity", "model.onnx"));
  assert.throws(() => new Tensor("float32", [-1, -1], new Float32Array(1)), (e) => e instanceof KilnError);
  assert.throws(() => new Tensor("float32", [0.5, 4], new Float32Array(2)), (e) => e instanceof KilnError);
  const wrongStorage = new Tensor("float32", [1, 1, 2, 2], new BigInt64Array(4));
  const bad = [null, 3, {}, { x: [1, 2] }, { x: Tensor.scalar("float32", 1), y: Tensor.scalar("float32", 1) }, { x: wrongStorage }];
  for (const [i, feeds] of bad.entries()) {
    await assert.rejects(session.run(feeds as unknown as Record<string, Tensor>), isInputError, `feeds #${i}`);
  }
});
