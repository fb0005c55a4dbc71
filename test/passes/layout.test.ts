/** Layout optimization: blocked convolutions with the layout transforms pushed to the edges. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Model } from "../../src/ir/graph.js";
import { optimizeLayout } from "../../src/passes/layout.js";
import { inferShapes } from "../../src/passes/pipeline.js";
import { assertSameOutputs, opsOf, rand, typed } from "./graph-helpers.js";

const count = (m: Model, op: string) => m.graph.nodes.filter((n) => n.op === op).length;

function convNet(channels: number, extra: (b: GraphBuilder, y: string) => string = (_, y) => y): Model {
  const b = new GraphBuilder("t");
  const x = b.input("x", "float32", [1, 3, 6, 6]);
  const c1 = b.node("Conv", [x, b.weight("w1", rand([channels, 3, 3, 3], 1)), b.weight("b1", rand([channels], 2))], { pads: [1, 1, 1, 1] });
  const c2 = b.node("Conv", [b.node("Relu", [c1]), b.weight("w2", rand([channels, channels, 3, 3], 3))], { pads: [1, 1, 1, 1] });
  b.output(extra(b, c2));
  return typed(b.build());
}

const feeds = () => new Map([["x", rand([1, 3, 6, 6], 4)]]);

function layout(m: Model): Model {
  const out = inferShapes.run(optimizeLayout(m));
  assertSameOutputs(m, out, feeds(), 1e-5);
  return out;
}

describe("layout", () => {
  it("Conv -> Relu -> Conv runs blocked with one ToBlocked at the input and one FromBlocked at the output", () => {
    const out = layout(convNet(8));
    assert.deepEqual(opsOf(out), ["kiln:ToBlocked", "kiln:InLayout", "Relu", "kiln:InLayout", "kiln:FromBlocked"]);
    assert.equal(out.graph.nodes[0]!.inputs[0], "x");
    assert.equal(out.graph.nodes.at(-1)!.outputs[0], out.graph.outputs[0]!.name);
    assert.deepEqual(out.graph.valueTypes.get(out.graph.nodes[2]!.outputs[0]!)?.shape, [1, 2, 6, 6, 4]);
  });

  it("channel counts that are not a multiple of the block pad the last block and still compute the same numbers", () => {
    const out = layout(convNet(6));
    assert.equal(count(out, "kiln:ToBlocked"), 1);
    assert.equal(count(out, "kiln:FromBlocked"), 1);
  });

  it("a per-channel Add after the last Conv runs blocked too", () => {
    const out = layout(convNet(8, (b, y) => b.node("Add", [y, b.weight("shift", rand([8, 1, 1], 5))])));
    assert.deepEqual(opsOf(out), ["kiln:ToBlocked", "kiln:InLayout", "Relu", "kiln:InLayout", "Add", "kiln:FromBlocked"]);
  });

  it("an op that needs the plain layout gets a FromBlocked before it", () => {
    const out = layout(convNet(8, (b, y) => b.node("Transpose", [y], { perm: [0, 2, 3, 1] })));
    assert.deepEqual(opsOf(out), ["kiln:ToBlocked", "kiln:InLayout", "Relu", "kiln:InLayout", "kiln:FromBlocked", "Transpose"]);
  });

  it("pooling, BatchNormalization and a channel Concat of full blocks stay blocked", () => {
    const out = layout(convNet(8, (b, y) => {
      const pooled = b.node("MaxPool", [y], { kernel_shape: [2, 2], strides: [2, 2] });
      const bn = b.node("BatchNormalization", [pooled, b.weight("g", rand([8], 6, 0.5, 1.5)), b.weight("be", rand([8], 7)),
        b.weight("mu", rand([8], 8)), b.weight("var", rand([8], 9, 0.5, 2))]);
      return b.node("GlobalAveragePool", [b.node("Concat", [bn, pooled], { axis: -3 })]);
    }));
    assert.equal(count(out, "kiln:ToBlocked"), 1);
    assert.equal(count(out, "kiln:FromBlocked"), 1);
    assert.equal(out.graph.nodes.at(-1)!.op, "kiln:FromBlocked");
  });

  it("a channel Concat whose parts do not fill whole blocks goes back to the plain layout", () => {
    const out = layout(convNet(6, (b, y) => b.node("Concat", [y, y], { axis: 1 })));
    assert.deepEqual(opsOf(out).slice(-2), ["kiln:FromBlocked", "Concat"]);
  });

  it("a graph with no layout-sensitive op is unchanged", () => {
    const b = new GraphBuilder("t");
    const x = b.input("x", "float32", [1, 3, 6, 6]);
    b.output(b.node("Relu", [x]));
    const m = typed(b.build());
    assert.deepEqual(opsOf(layout(m)), ["Relu"]);
  });
});
