/** The benchmark's input specs: a range gives token ids below a vocabulary, spread over it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeFeeds } from "../../bench/models/inputs.js";

describe("bench inputs", () => {
  it("draws an int64 input with a range uniformly in [lo, hi)", () => {
    const { ids } = makeFeeds([{ name: "ids", dtype: "int64", shape: [1, 1000], seed: 1, range: [0, 30522] }]);
    const v = [...ids!.numbers()];
    assert.ok(v.every((x) => Number.isInteger(x) && x >= 0 && x < 30522), "an id outside the vocabulary");
    assert.ok(new Set(v).size > 900, "the ids are not spread over the vocabulary");
    assert.ok(Math.max(...v) > 25000 && Math.min(...v) < 5000);
  });

  it("keeps [-1, 1) without a range", () => {
    const { x } = makeFeeds([{ name: "x", dtype: "float32", shape: [100], seed: 1 }]);
    assert.ok([...x!.numbers()].every((a) => a >= -1 && a < 1));
  });
});
