/** Expression interning and index-arithmetic folding. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FALSE, TRUE, add, div, exp, ivar, lit, lt, mapExpr, max, min, mod, mul, sub, load } from "../../src/loopir/expr.js";
import { printExpr } from "../../src/loopir/print.js";
import { type Ranges, simplify } from "../../src/loopir/simplify.js";

const [i, o, x] = [ivar("i"), ivar("o"), ivar("x")];
const ranges: Ranges = new Map([["i", { lo: 0, hi: 3 }], ["o", { lo: 0, hi: 9 }]]);
const s = (e: Parameters<typeof simplify>[0]) => printExpr(simplify(e, ranges));

describe("expressions", () => {
  it("are interned: structurally equal means identical", () => {
    assert.equal(add(mul(o, 4), i), add(mul(ivar("o"), lit(4)), ivar("i")));
    assert.notEqual(add(o, i), add(i, o));
    assert.equal(exp(load("A", [i], "f32")), exp(load("A", [ivar("i")], "f32")));
    assert.notEqual(lit(0, "f32"), lit(-0, "f32"));
  });
});

describe("simplify", () => {
  it("recombines (x / k)*k + x % k into x, scaled, and leaves other multiples alone", () => {
    assert.equal(s(add(mul(div(x, 64), 64), mod(x, 64))), "x");
    assert.equal(s(add(add(mul(div(x, 64), 256), mul(mod(x, 64), 4)), o)), "x * 4 + o");
    assert.equal(s(add(mul(add(o, div(x, 8)), 8), mod(x, 8))), "o * 8 + x");
    assert.equal(s(add(mul(div(x, 64), 32), mod(x, 64))), "x / 64 * 32 + x % 64");
    assert.equal(s(add(mul(div(x, 4), 4), mod(x, 8))), "x / 4 * 4 + x % 8");
  });
  it("folds constants and identities", () => {
    assert.equal(s(add(mul(2, 3), 4)), "10");
    assert.equal(s(add(mul(x, 1), 0)), "x");
    assert.equal(s(mul(load("A", [i], "f32"), lit(1, "f32"))), "A[i]");
    assert.equal(s(div(lit(-7), 2)), "-4");
    assert.equal(s(mod(lit(-7), 2)), "1");
  });

  it("keeps sums linear and cancels", () => {
    assert.equal(s(mul(add(mul(o, 4), i), 9)), "o * 36 + i * 9");
    assert.equal(s(sub(add(mul(o, 4), i), mul(o, 4))), "i");
    assert.equal(s(sub(x, add(x, 3))), "-3");
  });

  it("folds (a*k + b)/k and %k when 0 <= b < k", () => {
    assert.equal(s(div(add(mul(o, 4), i), 4)), "o");
    assert.equal(s(mod(add(mul(o, 4), i), 4)), "i");
    assert.equal(s(div(add(mul(o, 8), add(i, 4)), 4)), "o * 2 + 1");
    assert.equal(s(div(add(mul(o, 4), add(i, 1)), 4)), "(o * 4 + i + 1) / 4"); // i+1 may reach 4
    assert.equal(s(div(add(mul(x, 4), i), 4)), "x"); // x is unbounded, but its term divides exactly
    // Coefficients divide exactly, never through a rounded 1/k (49 * (1/49) is 0.9999999999999999).
    assert.equal(s(div(add(mul(o, 49), add(i, 49)), 49)), "o + 1");
  });

  it("folds (m*a + c)/k and %k when m divides k and 0 <= c < m (a grouped convolution's group per tile)", () => {
    // floor((16*x + 12) / 128) = floor(x / 8) for every integer x, negative too.
    assert.equal(s(div(add(mul(x, 16), 12), 128)), "x / 8");
    assert.equal(s(mod(add(mul(x, 16), 12), 128)), "x % 8 * 16 + 12");
    assert.equal(s(div(add(mul(x, 16), 12), 16)), "x");
    assert.equal(s(div(add(mul(x, 16), 16), 128)), "(x * 16 + 16) / 128"); // c = m may cross a multiple of k
    assert.equal(s(div(add(mul(x, 16), 4), 24)), "(x * 16 + 4) / 24"); // 16 does not divide 24
    // The folded forms take the same values as the originals, negative x included (each side
    // evaluated by substituting x and folding the constants).
    const at = (e: Parameters<typeof simplify>[0], v: number) => s(mapExpr(e, (n) => (n === x ? lit(v) : n)));
    for (const e of [div(add(mul(x, 16), 12), 128), mod(add(mul(x, 16), 12), 128)]) {
      const folded = simplify(e, ranges);
      for (let v = -40; v <= 40; v++) assert.equal(at(folded, v), at(e, v), `${printExpr(e)} at x = ${v}`);
    }
  });

  it("decides comparisons, min and max from ranges", () => {
    assert.equal(simplify(lt(add(mul(o, 4), i), 40), ranges), TRUE);
    assert.equal(simplify(lt(add(mul(o, 4), i), 0), ranges), FALSE);
    assert.equal(s(lt(add(mul(o, 4), i), 39)), "o * 4 + i < 39");
    assert.equal(s(min(i, 3)), "i");
    assert.equal(s(max(i, add(o, 4))), "o + 4");
    assert.equal(s(min(i, o)), "min(i, o)");
  });
});
