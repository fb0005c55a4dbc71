/** Reductions lowered against the reference where the stable forms meet infinities. */
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import { Tensor } from "../../src/ir/tensor.js";
import { assertCompiledMatchesReference } from "./differential.js";

describe("reduction lowering", () => {
  it("ReduceLogSumExp: a row of -inf gives -inf and a +inf gives +inf (not NaN from subtracting an infinite max)", async () => {
    const b = new GraphBuilder("lse", { "": 18 });
    const x = b.input("x", "float32", [4, 3]);
    b.output(b.node("ReduceLogSumExp", [x, b.weight("axes", Tensor.fromNumbers("int64", [1], [1]))], { keepdims: 0 }));
    const rows = [[-Infinity, -Infinity, -Infinity], [1, Infinity, 2], [-Infinity, 0, 1], [80, 90, 100]];
    await assertCompiledMatchesReference(b.build(), { x: Tensor.fromNumbers("float32", [4, 3], rows.flat()) }, "ReduceLogSumExp");
  });
});
