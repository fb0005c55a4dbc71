/** The graph builder's output naming: a renamed output is renamed in its producer and in every reader. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";

describe("GraphBuilder.output with a name", () => {
  it("renames the value in the node that makes it and in the nodes that read it", () => {
    const b = new GraphBuilder("g", { "": 17 });
    const x = b.input("x", "float32", [2]);
    const y = b.node("Relu", [x]);
    const z = b.node("Neg", [y]);
    b.output(y, "float32", "hidden");
    b.output(z, "float32", "out");
    const { graph } = b.build();
    assert.deepEqual(graph.outputs.map((o) => o.name), ["hidden", "out"]);
    assert.deepEqual(graph.nodes.map((n) => [n.op, n.inputs, n.outputs]), [["Relu", ["x"], ["hidden"]], ["Neg", ["hidden"], ["out"]]]);
  });

  it("refuses to rename a graph input", () => {
    const b = new GraphBuilder("g", { "": 17 });
    const x = b.input("x", "float32", [2]);
    assert.throws(() => b.output(x, "float32", "y"), /only a node's output can be renamed/);
  });
});
