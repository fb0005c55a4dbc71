import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { InputError, LimitError, ModelError, UnsupportedError } from "../../src/ir/errors.js";
import { Tensor } from "../../src/ir/tensor.js";
import { printModel } from "../../src/ir/text.js";
import { exportOnnx } from "../../src/frontend/onnx/export.js";
import { importOnnx } from "../../src/frontend/onnx/import.js";
import { onnx } from "../../src/frontend/onnx/proto.js";
import { decodeTensor, encodeTensor } from "../../src/frontend/onnx/tensor.js";
import { identityModel, modelBytes, NODE_TESTS, vinfo } from "../helpers.js";

describe("ONNX importer", () => {
  it("imports opsets, typed inputs with symbolic dims, and nodes", () => {
    const m = importOnnx(modelBytes({
      name: "g", input: [vinfo("x", 1, ["batch size", 3])], output: [vinfo("y", 1, ["batch size", 3])],
      node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
    }, [{ domain: "", version: 13 }, { domain: "ai.onnx.ml", version: 3 }]));
    assert.deepEqual(m.opsets, { "": 13, "ai.onnx.ml": 3 });
    // dim_params become identifiers; model text never reaches the IR verbatim.
    assert.deepEqual(m.graph.inputs[0]!.type, { dtype: "float32", shape: ["batch_size", 3] });
  });

  it("reads initializers from raw_data and from typed fields", () => {
    const raw = encodeTensor(Tensor.fromNumbers("float32", [2], [1.5, -2]), "a");
    assert.deepEqual(Array.from(decodeTensor(raw).numbers()), [1.5, -2]);
    const typed = onnx.TensorProto.encode({ dims: [3], dataType: 7, int64Data: [1, -2, 3] }).finish();
    assert.deepEqual(decodeTensor(typed).bigints(), [1n, -2n, 3n]);
    const f16 = onnx.TensorProto.encode({ dims: [1], dataType: 10, int32Data: [0x3c00] }).finish();
    assert.deepEqual(Array.from(decodeTensor(f16).numbers()), [1]);
  });

  it("round-trips through the ONNX writer", () => {
    for (const name of ["test_if", "test_scan9_sum", "test_loop11", "test_constant"]) {
      const a = importOnnx(readFileSync(join(NODE_TESTS, name, "model.onnx")));
      const b = importOnnx(exportOnnx(a));
      assert.equal(printModel(b), printModel(a), name);
    }
  });

  it("makes a graph input that has an initializer a constant", () => {
    const m = importOnnx(modelBytes({
      name: "g", input: [vinfo("x"), vinfo("c")], output: [vinfo("y")],
      initializer: [{ name: "c", dims: [2, 3], dataType: 1, floatData: [1, 2, 3, 4, 5, 6] }],
      node: [{ opType: "Add", input: ["x", "c"], output: ["y"] }],
    }));
    assert.deepEqual(m.graph.inputs.map((v) => v.name), ["x"]);
    assert.ok(m.graph.initializers.has("c"));
  });

  it("inlines model-local functions", () => {
    const bytes = onnx.ModelProto.encode({
      irVersion: 8, opsetImport: [{ domain: "", version: 17 }, { domain: "local", version: 1 }],
      functions: [{ name: "Twice", domain: "local", input: ["a"], output: ["b"], opsetImport: [{ domain: "", version: 17 }],
        node: [{ opType: "Identity", input: ["a"], output: ["t"] }, { opType: "Identity", input: ["t"], output: ["b"] }] }],
      graph: { name: "g", input: [vinfo("x")], output: [vinfo("y")], node: [{ opType: "Twice", domain: "local", input: ["x"], output: ["y"] }] },
    }).finish();
    const m = importOnnx(bytes);
    assert.deepEqual(m.graph.nodes.map((n) => n.op), ["Identity", "Identity"]);
    assert.equal(m.graph.nodes[1]!.outputs[0], "y");
  });
});

describe("bad input gets a typed error naming the problem", () => {
  const graphWith = (node: object[], extra: object = {}) => modelBytes({ name: "g", input: [vinfo("x")], output: [vinfo("y")], node, ...extra });

  it("empty, truncated and random bytes", () => {
    assert.throws(() => importOnnx(new Uint8Array()), (e: unknown) => e instanceof ModelError && /empty/.test(e.message));
    const good = identityModel();
    assert.throws(() => importOnnx(good.slice(0, good.length - 7)), (e: unknown) => e instanceof ModelError && /not an ONNX model/.test(e.message));
    let seed = 7;
    const junk = Uint8Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff);
    assert.throws(() => importOnnx(junk), ModelError);
  });

  it("a reference to an undefined value", () => {
    assert.throws(() => importOnnx(graphWith([{ opType: "Identity", name: "lost", input: ["nowhere"], output: ["y"] }])),
      (e: unknown) => e instanceof ModelError && /Identity node "lost" reads "nowhere", which is never defined/.test(e.message));
  });

  it("a cycle", () => {
    assert.throws(() => importOnnx(graphWith([
      { opType: "Identity", name: "a", input: ["b_out"], output: ["a_out"] },
      { opType: "Identity", name: "b", input: ["a_out"], output: ["b_out"] },
      { opType: "Identity", name: "c", input: ["x"], output: ["y"] },
    ])), (e: unknown) => e instanceof ModelError && /cycle through Identity node "a", Identity node "b"/.test(e.message));
  });

  it("a value defined twice", () => {
    assert.throws(() => importOnnx(graphWith([
      { opType: "Identity", input: ["x"], output: ["y"] }, { opType: "Identity", name: "again", input: ["x"], output: ["y"] },
    ])), /"y" is defined more than once \(again by Identity node "again"\)/);
  });

  it("an unknown op and an unknown domain", () => {
    assert.throws(() => importOnnx(graphWith([{ opType: "FrobnicateV9", input: ["x"], output: ["y"] }])),
      (e: unknown) => e instanceof UnsupportedError && e.feature === "op FrobnicateV9");
    assert.throws(() => importOnnx(graphWith([{ opType: "Identity", domain: "com.example", input: ["x"], output: ["y"] }])),
      (e: unknown) => e instanceof UnsupportedError && e.feature === "op com.example:Identity");
  });

  it("an attribute the op does not have", () => {
    assert.throws(() => importOnnx(graphWith([{ opType: "Identity", input: ["x"], output: ["y"], attribute: [{ name: "bogus", type: 2, i: 1 }] }])),
      /unknown attribute 'bogus'/);
  });

  it("a tensor over the size limit, and a tensor whose data does not match its shape", () => {
    const init = { name: "w", dims: [1000, 1000], dataType: 1, rawData: new Uint8Array(4_000_000) };
    const bytes = graphWith([{ opType: "Identity", input: ["x"], output: ["y"] }], { initializer: [init] });
    assert.throws(() => importOnnx(bytes, { maxTensorBytes: 1_000_000 }), (e: unknown) => e instanceof LimitError && /"w"/.test(e.message) && /4000000 bytes/.test(e.message));
    const huge = graphWith([{ opType: "Identity", input: ["x"], output: ["y"] }], { initializer: [{ name: "h", dims: [1 << 20, 1 << 20, 1 << 20], dataType: 1 }] });
    assert.throws(() => importOnnx(huge), LimitError);
    const short = graphWith([{ opType: "Identity", input: ["x"], output: ["y"] }], { initializer: [{ name: "s", dims: [4], dataType: 1, rawData: new Uint8Array(8) }] });
    assert.throws(() => importOnnx(short), /raw_data has 8 bytes/);
  });

  it("external data and unsupported dtypes", () => {
    const ext = graphWith([{ opType: "Identity", input: ["x"], output: ["y"] }],
      { initializer: [{ name: "e", dims: [4], dataType: 1, dataLocation: 1, externalData: [{ key: "location", value: "w.bin" }] }] });
    assert.throws(() => importOnnx(ext), (e: unknown) => e instanceof UnsupportedError && /external file/.test(e.message));
    const str = modelBytes({ name: "g", input: [vinfo("x", 8)], output: [vinfo("y", 8)], node: [{ opType: "Identity", input: ["x"], output: ["y"] }] });
    assert.throws(() => importOnnx(str), (e: unknown) => e instanceof UnsupportedError && e.feature === "dtype string");
  });

  it("inputs of the wrong name, shape or dtype", async () => {
    const s = await InferenceSession.create(modelBytes({
      name: "g", input: [vinfo("x", 1, ["N", 3])], output: [vinfo("y", 1, ["N", 3])], node: [{ opType: "Identity", input: ["x"], output: ["y"] }],
    }));
    const ok = await s.run({ x: Tensor.fromNumbers("float32", [2, 3], [1, 2, 3, 4, 5, 6]) });
    assert.deepEqual(Array.from(ok["y"]!.numbers()), [1, 2, 3, 4, 5, 6]);
    await assert.rejects(s.run({ x: Tensor.fromNumbers("float32", [2, 4], new Array(8).fill(0)) }),
      (e: unknown) => e instanceof InputError && /input "x" must have shape \[N,3\], got \[2,4\]/.test(e.message));
    await assert.rejects(s.run({ x: Tensor.fromNumbers("int32", [2, 3], new Array(6).fill(0)) }), /input "x" must be float32, got int32/);
    await assert.rejects(s.run({ x: Tensor.fromNumbers("float32", [6], new Array(6).fill(0)) }), /must have rank 2/);
    await assert.rejects(s.run({}), /input "x" is missing/);
    await assert.rejects(s.run({ x: Tensor.fromNumbers("float32", [1, 3], [0, 0, 0]), z: Tensor.scalar("float32", 0) }), /no input named "z"/);
  });
});
