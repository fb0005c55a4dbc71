import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseModel, printModel, ParseError, printFloat32 } from "../../src/ir/text.js";
import { Tensor } from "../../src/ir/tensor.js";

const SAMPLE = `opset "" 17
opset "ai.onnx.ml" 3
graph "main" (%x: f32[N,3,(N*2)], %"odd name:1": i64[?]) -> (%y: f32[N,3,(N*2)], %z: bool[]) {
  %w: f32[3] = init [0.1,-0,nan]
  %big: i64[17] = init base64"AQAAAAAAAAACAAAAAAAAAAMAAAAAAAAABAAAAAAAAAAFAAAAAAAAAAYAAAAAAAAABwAAAAAAAAAIAAAAAAAAAAkAAAAAAAAACgAAAAAAAAALAAAAAAAAAAwAAAAAAAAADQAAAAAAAAAOAAAAAAAAAA8AAAAAAAAAEAAAAAAAAAARAAAAAAAAAA=="
  %a: f32[N,3,(N*2)], _ = Foo "node \\"one\\"" (%x, _, %w) {alpha=0.2f, axes=ints[-1,0], empty=floats[], i=-3, names=strings["a","b c"], s="hi", t=tensor u8[2] [1,255], ts=tensors[tensor f16[1] [0.5], tensor i32[] [7]]}
  %y = Bar (%a) {body=graph "body" (%i: i64[], %c: bool[]) -> (%c: bool[]) {
    %c2: bool[] = Identity (%c)
  }, fs=floats[1,inf,-inf], g=graphs[graph "g1" () -> () {
  }]}
  %z: bool[] = Baz ()
}
`;

describe("textual IR", () => {
  it("round-trips exactly: print(parse(text)) == text", () => {
    assert.equal(printModel(parseModel(SAMPLE)), SAMPLE);
  });

  it("keeps values, names and attribute types", () => {
    const m = parseModel(SAMPLE);
    assert.deepEqual(m.opsets, { "": 17, "ai.onnx.ml": 3 });
    const g = m.graph;
    assert.deepEqual(g.inputs[0]!.type.shape, ["N", 3, "(N*2)"]);
    assert.equal(g.inputs[1]!.name, "odd name:1");
    assert.equal(g.inputs[1]!.type.shape, null);
    const w = g.initializers.get("w")!.numbers();
    assert.ok(Math.abs(w[0]! - 0.1) < 1e-7 && Object.is(w[1], -0) && Number.isNaN(w[2]));
    assert.deepEqual(g.initializers.get("big")!.bigints(), Array.from({ length: 17 }, (_, i) => BigInt(i + 1)));
    const foo = g.nodes[0]!;
    assert.equal(foo.name, 'node "one"');
    assert.deepEqual(foo.inputs, ["x", "", "w"]);
    assert.deepEqual(foo.outputs, ["a", ""]);
    assert.deepEqual(foo.attrs["alpha"], { type: "float", value: Math.fround(0.2) });
    assert.deepEqual(foo.attrs["i"], { type: "int", value: -3 });
    assert.deepEqual(foo.attrs["empty"], { type: "floats", value: [] });
    const ts = foo.attrs["ts"];
    assert.ok(ts?.type === "tensors" && ts.value[0]!.dtype === "float16" && ts.value[0]!.numbers()[0] === 0.5);
    const body = g.nodes[1]!.attrs["body"];
    assert.ok(body?.type === "graph" && body.value.nodes[0]!.op === "Identity");
  });

  it("prints floats as the shortest decimal that reads back as the same float32", () => {
    for (const v of [0.1, 1 / 3, 3.4028234663852886e38, 1e-45, -2.5, 123456789]) {
      const f = Math.fround(v);
      const s = printFloat32(f);
      assert.equal(Math.fround(Number(s)), f, s);
    }
    assert.equal(printFloat32(Math.fround(0.2)), "0.2");
  });

  it("round-trips a tensor's bytes through base64", () => {
    const data = Float32Array.from({ length: 40 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    const t = new Tensor("float32", [5, 8], data);
    const text = `opset "" 17\ngraph "g" () -> (%c: f32[5,8]) {\n  %c: f32[5,8] = init base64"${Buffer.from(data.buffer).toString("base64")}"\n}\n`;
    const back = parseModel(text).graph.initializers.get("c")!;
    assert.deepEqual(Array.from(back.data as Float32Array), Array.from(t.data as Float32Array));
    assert.equal(printModel(parseModel(text)), text);
  });

  it("reports where a parse error is", () => {
    assert.throws(() => parseModel(`opset "" 17\ngraph "g" () -> () {\n  %a = Relu (%x\n}\n`), (e: unknown) =>
      e instanceof ParseError && /line 4/.test(e.message));
    assert.throws(() => parseModel(`graph "g" (%x: q8[2]) -> () {\n}\n`), /unknown dtype 'q8'/);
    assert.throws(() => parseModel(`graph "g" () -> () {\n  %a: f32[2] = init [1,2,3]\n}\n`), /3 values/);
    assert.throws(() => parseModel(`graph "g" () -> () {\n  %a = R () {x=1.5}\n}\n`), /floats end in f/);
  });
});
