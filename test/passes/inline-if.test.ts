/**
 * If resolution at compile time: an If whose condition folds is replaced by its taken branch,
 * nested Ifs whose conditions fold only after their parent is inlined go too, a branch that
 * would shadow a value of the graph is left alone; and through the session, an If on a scalar
 * int64 input compiles fully for each value fed (even when the other branch does not type-check
 * for the fed shapes) and a changed value runs the other branch.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { Graph, Model, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import { inlineIfs } from "../../src/passes/inline-if.js";
import { worst } from "../helpers.js";
import { assertSameOutputs, f32, i64, opsOf, rand, typed } from "./graph-helpers.js";

const node = (op: string, inputs: string[], outputs: string[], attrs: Node["attrs"] = {}): Node => ({ op, name: "", inputs, outputs, attrs });

/** A branch with no inputs: its nodes (reading outer values), then `output`. */
function branch(name: string, nodes: Node[], output: string, initializers: [string, Tensor][] = []): Graph {
  return { name, inputs: [], outputs: [{ name: output, type: { dtype: "float32", shape: null } }], initializers: new Map(initializers), nodes, valueTypes: new Map() };
}

const ifNode = (cond: string, out: string, then: Graph, otherwise: Graph) =>
  node("If", [cond], [out], { then_branch: { type: "graph", value: then }, else_branch: { type: "graph", value: otherwise } });

/** y = If(cond) then x*2 else x+1, with cond an initializer. */
function constantCondition(cond: boolean): Model {
  const b = new GraphBuilder("t");
  b.input("x", "float32", [3]);
  b.weight("cond", Tensor.fromNumbers("bool", [], [cond ? 1 : 0]));
  const m = b.build();
  const then = branch("then", [node("Mul", ["x", "two"], ["t1"])], "t1", [["two", f32([], [2])]]);
  const otherwise = branch("else", [node("Add", ["x", "one"], ["e1"])], "e1", [["one", f32([], [1])]]);
  return { ...m, graph: { ...m.graph, nodes: [ifNode("cond", "y", then, otherwise)], outputs: [{ name: "y", type: { dtype: "float32", shape: [3] } }] } };
}

describe("inline-if", () => {
  it("replaces an If with a constant condition by the branch it takes", () => {
    for (const cond of [true, false]) {
      const m = typed(constantCondition(cond));
      const out = inlineIfs(m);
      assert.deepEqual(opsOf(out), [cond ? "Mul" : "Add", "Identity"]);
      assertSameOutputs(m, out, new Map([["x", rand([3], 1)]]));
    }
  });

  it("inlines nested Ifs whose conditions fold once their parent is inlined", () => {
    // then: s = Sigmoid(x); y = If(Size(s) == 3) then Neg(s) else Exp(s). The inner test is a
    // Shape fact of a value the outer branch computes.
    const inner = ifNode("eq", "inner_y", branch("t", [node("Neg", ["s"], ["n"])], "n"), branch("e", [node("Exp", ["s"], ["x2"])], "x2"));
    const outerThen = branch("then", [
      node("Sigmoid", ["x"], ["s"]), node("Size", ["s"], ["size"]), node("Equal", ["size", "three"], ["eq"]), inner,
    ], "inner_y", [["three", Tensor.scalar("int64", 3)]]);
    const b = new GraphBuilder("t");
    b.input("x", "float32", [3]);
    b.weight("cond", Tensor.fromNumbers("bool", [], [1]));
    const base = b.build();
    const m = typed({ ...base, graph: { ...base.graph, nodes: [ifNode("cond", "y", outerThen, branch("else", [node("Relu", ["x"], ["r"])], "r"))], outputs: [{ name: "y", type: { dtype: "float32", shape: null } }] } });
    const out = inlineIfs(m);
    assert.ok(!opsOf(out).includes("If"), opsOf(out).join());
    assert.ok(opsOf(out).includes("Neg") && !opsOf(out).includes("Exp"));
    assertSameOutputs(m, out, new Map([["x", rand([3], 2)]]));
  });

  it("leaves an If whose branch defines a name the graph already has", () => {
    const m = constantCondition(true);
    // The branch's "t1" now also names a value of the main graph.
    const clash = { ...m, graph: { ...m.graph, nodes: [node("Relu", ["x"], ["t1"]), ...m.graph.nodes] } };
    assert.deepEqual(opsOf(inlineIfs(typed(clash))), ["Relu", "If"]);
  });
});

describe("an If on a scalar input, compiled", () => {
  /**
   * y = If(rate == 16000) then Tanh(x) * 2 else (the 8 kHz branch) Squeeze(x, [1]) + 1 over
   * x [N, 1]; the else branch does not type-check for x of shape [1, 4].
   */
  function model(): Model {
    const b = new GraphBuilder("rate", { "": 17 });
    b.input("x", "float32", ["N", "M"]);
    b.input("rate", "int64", []);
    b.weight("sixteen_k", Tensor.scalar("int64", 16000));
    const base = b.build();
    const then = branch("then", [node("Tanh", ["x"], ["t"]), node("Mul", ["t", "two"], ["t2"])], "t2", [["two", f32([], [2])]]);
    const otherwise = branch("else", [node("Squeeze", ["x", "axis1"], ["sq"]), node("Add", ["sq", "one"], ["e2"])], "e2", [["axis1", i64([1])], ["one", f32([], [1])]]);
    return {
      ...base,
      graph: {
        ...base.graph,
        nodes: [node("Equal", ["rate", "sixteen_k"], ["is16k"]), ifNode("is16k", "y", then, otherwise)],
        outputs: [{ name: "y", type: { dtype: "float32", shape: null } }],
      },
    };
  }

  it("binds the scalar inputs an If condition reads, and no others", async () => {
    const b = new GraphBuilder("step", { "": 17 });
    const x = b.input("x", "float32", [2]);
    const step = b.input("step", "int64", []);
    b.output(b.node("Mul", [x, b.node("Cast", [step], { to: 1 })]));
    const counter = await InferenceSession.create(b.build());
    // A step counter stays an input: binding it would compile a program per step.
    assert.deepEqual(counter.bound(new Map([["x", rand([2], 1)], ["step", Tensor.scalar("int64", 3)]])).graph.inputs.map((v) => v.name), ["x", "step"]);
    const rate = await InferenceSession.create(model());
    const bound = rate.bound(new Map([["x", rand([2, 1], 1)], ["rate", Tensor.scalar("int64", 8000)]]));
    assert.deepEqual(bound.graph.inputs.map((v) => v.name), ["x"]);
    assert.equal(Number(bound.graph.initializers.get("rate")!.numbers()[0]), 8000);
  });

  it("compiles the taken branch for each value, with no fallback, and switches when the value changes", async () => {
    const m = model();
    const reference = await InferenceSession.create(m, { backend: "reference" });
    for (const backend of ["wasm", "js"] as const) {
      const session = await InferenceSession.create(m, { backend, threads: 1 });
      try {
        // [1, 1] suits both branches: only the value tells the programs apart.
        const cases = [[16000, [1, 4]], [8000, [3, 1]], [16000, [1, 1]], [8000, [1, 1]], [16000, [1, 1]]] as const;
        for (const [rate, shape] of cases) {
          const feeds = { x: rand([...shape], rate), rate: Tensor.scalar("int64", rate) };
          const [got, want] = [await session.run(feeds), await reference.run(feeds)];
          assert.deepEqual(got["y"]!.shape, want["y"]!.shape, `${backend}, rate ${rate}`);
          assert.ok(worst(got["y"]!, want["y"]!) < 1e-5, `${backend}, rate ${rate}`);
        }
        assert.deepEqual(await session.fallbacks(), []);
      } finally {
        await session.release();
      }
    }
  });
});
