/** The whole optimizer on a small network: the expected final structure and the same numbers. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { optimize, SIMPLIFY_PIPELINE } from "../../src/passes/pipeline.js";
import { assertSameOutputs, f32, i64, opsOf, rand, typed } from "./graph-helpers.js";

function net() {
  const b = new GraphBuilder("t");
  const x = b.input("x", "float32", [1, 3, 6, 6]);
  const c1 = b.node("Conv", [x, b.weight("w1", rand([8, 3, 3, 3], 1))], { pads: [1, 1, 1, 1] });
  const bn = b.node("BatchNormalization", [c1, b.weight("g", rand([8], 2, 0.5, 1.5)), b.weight("be", rand([8], 3)),
    b.weight("mu", rand([8], 4)), b.weight("var", rand([8], 5, 0.5, 2))]);
  const r = b.node("Relu", [b.node("Identity", [bn])]);
  const c2 = b.node("Conv", [r, b.weight("w2", rand([8, 8, 3, 3], 6)), b.weight("b2", rand([8], 7))], { pads: [1, 1, 1, 1] });
  const scaled = b.node("Mul", [c2, b.weight("one", f32([], [1]))]);
  const flat = b.node("Reshape", [b.node("GlobalAveragePool", [scaled]), b.weight("shape", i64([1, 8]))]);
  b.output(b.node("Gemm", [flat, b.weight("fc", rand([4, 8], 8)), b.weight("fcb", rand([4], 9))], { transB: 1 }));
  return typed(b.build());
}

const feeds = () => new Map([["x", rand([1, 3, 6, 6], 10)]]);

describe("pipeline", () => {
  it("simplification folds BN into the conv and drops Identity and the multiply by one", () => {
    const m = net();
    const out = optimize(m, { passes: SIMPLIFY_PIPELINE }).model;
    assert.deepEqual(opsOf(out), ["Conv", "Relu", "Conv", "GlobalAveragePool", "Reshape", "Gemm"]);
    assertSameOutputs(m, out, feeds(), 1e-4);
  });

  it("the default pipeline blocks the trunk and fuses conv epilogues, with the same numbers", () => {
    const m = net();
    const seen: string[] = [];
    const out = optimize(m, { dump: (pass) => seen.push(pass) }).model;
    assert.deepEqual(seen.slice(-4), ["layout", "infer-shapes", "fuse", "wave-order"]);
    // Count the layout transforms inside fused groups too (FromBlocked fuses with the Reshape after it).
    const ops = out.graph.nodes.flatMap((n) => {
      const body = n.attrs["body"];
      return n.op === "kiln:Fused" && body?.type === "graph" ? body.value.nodes.map((m) => m.op) : [n.op];
    });
    assert.equal(ops.filter((o) => o === "kiln:ToBlocked").length, 1);
    assert.equal(ops.filter((o) => o === "kiln:FromBlocked").length, 1);
    assert.ok(opsOf(out).includes("kiln:Fused"));
    assertSameOutputs(m, out, feeds(), 1e-4);
  });
});
