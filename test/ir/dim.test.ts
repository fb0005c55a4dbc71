import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dimAdd, dimCeilDiv, dimDiv, dimMul, dimProduct, dimSub, evalDim, simplifyDim } from "../../src/ir/dim.js";

describe("symbolic dimensions", () => {
  it("fold numbers", () => {
    assert.equal(dimAdd(2, 3), 5);
    assert.equal(dimDiv(7, 2), 3);
    assert.equal(dimCeilDiv(7, 2), 4);
  });

  it("simplify to a canonical form", () => {
    assert.equal(dimDiv(dimMul("N", 2), 2), "N");
    assert.equal(simplifyDim("(N*2)/2"), "N");
    assert.equal(dimSub(dimAdd("N", 1), 1), "N");
    assert.equal(dimMul(2, "N"), dimMul("N", 2));
    assert.equal(dimMul("seq", "N"), dimMul("N", "seq"));
    assert.equal(dimSub("N", "N"), 0);
    assert.equal(dimDiv("N", "N"), 1);
    assert.equal(dimProduct(["N", 3, 4]), "(N*12)");
    assert.equal(dimDiv(dimAdd(dimMul("N", 4), 8), 4), "(N+2)");
  });

  it("keep divisions that do not simplify as atoms", () => {
    const conv = dimAdd(dimDiv(dimSub(dimAdd("H", 6), 7), 2), 1); // a 7x7 stride-2 pad-3 conv
    assert.equal(conv, "(floor((H-1)/2)+1)");
    assert.equal(evalDim(conv, { H: 224 }), 112);
    assert.equal(dimCeilDiv("N", 3), "ceil(N/3)");
    assert.equal(evalDim(dimCeilDiv("N", 3), { N: 10 }), 4);
    assert.equal(evalDim(dimDiv(dimMul("N", "seq"), 2), { N: 3, seq: 5 }), 7);
  });

  it("evaluate only when every symbol is bound", () => {
    assert.equal(evalDim("(N*seq)", { N: 2 }), undefined);
    assert.equal(evalDim("(N*seq*2+1)", { N: 2, seq: 3 }), 13);
  });
});
