import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseModel } from "../../src/ir/text.js";
import { verifyGraph, VerifyError } from "../../src/ir/verify.js";

const graph = (body: string, outputs = "%y: f32[2]") =>
  parseModel(`graph "g" (%x: f32[2]) -> (${outputs}) {\n${body}\n}\n`).graph;

describe("verifier", () => {
  it("accepts a well-formed graph with a subgraph reading the outer scope", () => {
    verifyGraph(graph(`  %t = Relu (%x)\n  %y = If (%t) {then_branch=graph "t" () -> (%t: f32[2]) {\n  }, else_branch=graph "e" () -> (%x: f32[2]) {\n  }}`));
  });

  it("rejects a value defined twice, naming the node", () => {
    assert.throws(() => verifyGraph(graph(`  %y = Relu "first" (%x)\n  %y = Relu "second" (%x)`)),
      (e: unknown) => e instanceof VerifyError && /"y" is defined twice/.test(e.message) && /second/.test(e.message));
  });

  it("rejects a graph input that is also an initializer (passes may trust initializers as constants)", () => {
    assert.throws(() => verifyGraph(parseModel(`graph "g" (%x: f32[2]) -> (%x: f32[2]) {\n  %x: f32[2] = init [1,2]\n}\n`).graph),
      /"x" is defined twice \(again by an initializer\)/);
  });

  it("rejects a use before its definition (not topological)", () => {
    assert.throws(() => verifyGraph(graph(`  %y = Relu "late" (%t)\n  %t = Relu (%x)`)), /Relu node "late" reads "t", which is not defined before it/);
  });

  it("rejects an undefined graph output", () => {
    assert.throws(() => verifyGraph(graph(`  %t = Relu (%x)`)), /output "y" is never defined/);
  });

  it("rejects a subgraph that reads an undefined value", () => {
    assert.throws(() => verifyGraph(graph(`  %y = If (%x) {then_branch=graph "t" () -> (%q: f32[2]) {\n  }, else_branch=graph "e" () -> (%x: f32[2]) {\n  }}`)),
      /graph "t": output "q" is never defined/);
  });
});
