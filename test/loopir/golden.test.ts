/**
 * Golden text of lowered loop nests: a MatMul under split/reorder/vectorize, with a guarded and
 * a peeled tail; a softmax whose stages are computed per row in local buffers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compute, placeholder, reduceAxis, reduceSum } from "../../src/loopir/compute.js";
import { mul } from "../../src/loopir/expr.js";
import { lower } from "../../src/loopir/lower.js";
import { printFunc } from "../../src/loopir/print.js";
import { type Step, replay } from "../../src/loopir/schedule.js";
import { softmax } from "./harness.js";

function matmul() {
  const A = placeholder("A", [8, 6]), B = placeholder("B", [6, 10]);
  const k = reduceAxis(6, "k");
  return compute("C", [8, 10], (i, j) => reduceSum(mul(A.at(i, k), B.at(k, j)), [k]));
}

const schedule = (tail: "guard" | "peel"): Step[] => [
  { kind: "split", stage: "C", loop: "i", factor: 4 },
  { kind: "split", stage: "C", loop: "j", factor: 4, tail },
  { kind: "reorder", stage: "C", loops: ["i.outer", "j.outer", "i.inner", "k", "j.inner"] },
  { kind: "vectorize", stage: "C", loop: "j.inner" },
];

describe("lowered MatMul text", () => {
  it("unscheduled", () => {
    assert.equal(printFunc(lower(replay([matmul()], []))), `\
func C(A: f32[8, 6], B: f32[6, 10]) -> (C: f32[8, 10]):
  for i in 0..8:
    for j in 0..10:
      C[i * 10 + j] = 0.0
      for k in 0..6:
        C[i * 10 + j] = C[i * 10 + j] + A[i * 6 + k] * B[k * 10 + j]
`);
  });

  it("split, reorder, vectorize with a guarded tail", () => {
    assert.equal(printFunc(lower(replay([matmul()], schedule("guard")))), `\
func C(A: f32[8, 6], B: f32[6, 10]) -> (C: f32[8, 10]):
  for i.outer in 0..2:
    for j.outer in 0..3:
      for i.inner in 0..4:
        vectorized for j.inner in 0..4:
          if j.outer * 4 + j.inner < 10:
            C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] = 0.0
        for k in 0..6:
          vectorized for j.inner in 0..4:
            if j.outer * 4 + j.inner < 10:
              C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] = C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] + A[i.outer * 24 + i.inner * 6 + k] * B[k * 10 + j.outer * 4 + j.inner]
`);
  });

  it("split, reorder, vectorize with a peeled tail", () => {
    assert.equal(printFunc(lower(replay([matmul()], schedule("peel")))), `\
func C(A: f32[8, 6], B: f32[6, 10]) -> (C: f32[8, 10]):
  for i.outer in 0..2:
    for j.outer in 0..2:
      for i.inner in 0..4:
        vectorized for j.inner in 0..4:
          C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] = 0.0
        for k in 0..6:
          vectorized for j.inner in 0..4:
            C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] = C[i.outer * 40 + i.inner * 10 + j.outer * 4 + j.inner] + A[i.outer * 24 + i.inner * 6 + k] * B[k * 10 + j.outer * 4 + j.inner]
    for i.inner in 0..4:
      for j.inner in 0..2:
        C[i.outer * 40 + i.inner * 10 + j.inner + 8] = 0.0
      for k in 0..6:
        for j.inner in 0..2:
          C[i.outer * 40 + i.inner * 10 + j.inner + 8] = C[i.outer * 40 + i.inner * 10 + j.inner + 8] + A[i.outer * 24 + i.inner * 6 + k] * B[k * 10 + j.inner + 8]
`);
  });
});

describe("lowered softmax text", () => {
  it("compute_at puts every stage in the row loop", () => {
    const steps: Step[] = [
      { kind: "parallel", stage: "Y", loop: "r" },
      { kind: "compute_at", stage: "S", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "E", consumer: "Y", loop: "r" },
      { kind: "compute_at", stage: "M", consumer: "Y", loop: "r" },
      { kind: "split", stage: "Y", loop: "l", factor: 4 },
      { kind: "vectorize", stage: "Y", loop: "l.inner" },
    ];
    assert.equal(printFunc(lower(replay([softmax(5, 13).Y], steps))), `\
func Y(X: f32[5, 13]) -> (Y: f32[5, 13]):
  parallel for r in 0..5:
    alloc M: f32[1]
    M[0] = -inf
    for M.j in 0..13:
      M[0] = max(M[0], X[r * 13 + M.j])
    alloc E: f32[1, 13]
    for E.l in 0..13:
      E[E.l] = exp(X[r * 13 + E.l] - M[0])
    alloc S: f32[1]
    S[0] = 0.0
    for S.j2 in 0..13:
      S[0] = S[0] + E[S.j2]
    for l.outer in 0..4:
      vectorized for l.inner in 0..4:
        if l.outer * 4 + l.inner < 13:
          Y[r * 13 + l.outer * 4 + l.inner] = E[l.outer * 4 + l.inner] / S[0]
`);
  });
});
