/** Schedules as data: JSON round-trips replay to the same code, and every precondition failure is a ScheduleError naming the step. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KilnError } from "../../src/ir/errors.js";
import { lower } from "../../src/loopir/lower.js";
import { printFunc } from "../../src/loopir/print.js";
import { type Step, ScheduleError, parseSteps, replay, scheduleToJson } from "../../src/loopir/schedule.js";
import { convBiasRelu, inputsFor, matmulChain, mismatch, run } from "./harness.js";

const GEMM: Step[] = [
  { kind: "compute_inline", stage: "P" },
  { kind: "tile", stage: "D", x: "i", y: "j", xFactor: 4, yFactor: 4 },
  { kind: "parallel", stage: "D", loop: "i.outer" },
  { kind: "compute_at", stage: "C", consumer: "D", loop: "j.outer" },
  { kind: "split", stage: "C", loop: "k", factor: 3, tail: "peel" },
  { kind: "fuse", stage: "C", outer: "i", inner: "j" },
  { kind: "unroll", stage: "C", loop: "k.inner" },
  { kind: "cache_read", stage: "C", tensor: "B", loop: "k.outer" },
];

const CONV: Step[] = [
  { kind: "compute_inline", stage: "Pad" },
  { kind: "compute_inline", stage: "Bias" },
  { kind: "split", stage: "Relu", loop: "x", factor: 4 },
  { kind: "vectorize", stage: "Relu", loop: "x.inner" },
  { kind: "compute_at", stage: "Conv", consumer: "Relu", loop: "y" },
];

describe("schedule JSON", () => {
  it("round-trips and replays to identical statement text (and the schedules compute the same values)", () => {
    const cases = [
      { outputs: [matmulChain(10, 13, 7).D], steps: GEMM },
      { outputs: [convBiasRelu({ n: 1, c: 2, h: 6, w: 9, f: 3, kh: 3, kw: 3, pad: 1, stride: 1 }).Relu], steps: CONV },
    ];
    for (const { outputs, steps } of cases) {
      const s = replay(outputs, steps);
      const json = scheduleToJson(s);
      assert.deepEqual(JSON.parse(json), steps);
      assert.equal(printFunc(lower(replay(outputs, parseSteps(json)))), printFunc(lower(s)));
      const inputs = inputsFor(outputs, 2), name = outputs[0]!.name;
      assert.equal(mismatch(run(outputs, steps, inputs)[name]!, run(outputs, [], inputs)[name]!), -1);
    }
  });

  it("rejects malformed steps", () => {
    assert.throws(() => parseSteps(`{"kind":"split"}`), KilnError);
    assert.throws(() => parseSteps(`[{"kind":"spilt","stage":"C","loop":"i","factor":4}]`), /unknown kind "spilt"/);
    assert.throws(() => parseSteps(`[{"kind":"split","stage":"C","loop":"i","factor":"4"}]`), /bad field factor/);
    assert.throws(() => parseSteps(`[{"kind":"split","stage":"C","loop":"i","factor":4,"tail":"wrap"}]`), /bad field tail/);
    assert.throws(() => parseSteps(`[{"kind":"parallel","stage":"C","loop":"i","lanes":8}]`), /unknown field lanes/);
  });
});

describe("schedule preconditions", () => {
  const bad: [Step[], RegExp][] = [
    [[{ kind: "split", stage: "C", loop: "q", factor: 4 }], /split\(stage="C", loop="q", factor=4\): q is not a loop of C/],
    [[{ kind: "split", stage: "X", loop: "i", factor: 4 }], /no stage named X/],
    [[{ kind: "split", stage: "C", loop: "i", factor: 0 }], /factor must be a positive integer/],
    [[{ kind: "split", stage: "C", loop: "i", factor: 2, tail: "peel" }, { kind: "split", stage: "C", loop: "i.inner", factor: 2 }], /peeled split/],
    [[{ kind: "reorder", stage: "C", loops: ["i", "i"] }], /reorder.*loops repeat/],
    [[{ kind: "split", stage: "D", loop: "j", factor: 4 }, { kind: "vectorize", stage: "D", loop: "j.inner" }, { kind: "reorder", stage: "D", loops: ["j.inner", "i"] }], /must stay innermost/],
    [[{ kind: "tile", stage: "C", x: "j", y: "i", xFactor: 2, yFactor: 2 }], /tile.*j must come before i/],
    [[{ kind: "fuse", stage: "C", outer: "i", inner: "k" }], /fuse.*k does not immediately follow i/],
    [[{ kind: "fuse", stage: "C", outer: "j", inner: "k" }], /spatial loop with a reduction loop/],
    [[{ kind: "unroll", stage: "C", loop: "j" }], /unroll.*extent 40 is over 32/],
    [[{ kind: "vectorize", stage: "D", loop: "i" }], /vectorize.*not the innermost/],
    [[{ kind: "vectorize", stage: "D", loop: "j" }], /extent 40 is not 4/],
    [[{ kind: "vectorize", stage: "C", loop: "k" }], /k is a reduction loop/],
    [[{ kind: "parallel", stage: "C", loop: "k" }], /parallel.*k is a reduction loop/],
    [[{ kind: "parallel", stage: "C", loop: "i" }, { kind: "split", stage: "C", loop: "i", factor: 2 }], /i is already parallel/],
    [[{ kind: "cache_read", stage: "D", tensor: "B", loop: "i" }], /D does not read B/],
    [[{ kind: "compute_at", stage: "D", consumer: "C", loop: "i" }], /D is an output/],
    [[{ kind: "compute_at", stage: "P", consumer: "D", loop: "i" }], /every reader of P \(C\) must be D or attached at D.i or inside it/],
    [[{ kind: "compute_at", stage: "C", consumer: "D", loop: "k" }], /k is not a loop of D/],
    [[{ kind: "compute_inline", stage: "C" }], /compute_inline.*C is a reduction/],
    [[{ kind: "compute_at", stage: "C", consumer: "D", loop: "j" }, { kind: "compute_inline", stage: "D" }], /D is an output/],
    [[{ kind: "compute_at", stage: "P", consumer: "C", loop: "i" }, { kind: "compute_inline", stage: "P" }], /P is already attached/],
    [[{ kind: "cache_read", stage: "C", tensor: "P", loop: "i" }, { kind: "compute_inline", stage: "P" }], /P is cached by C/],
    [[{ kind: "compute_at", stage: "P", consumer: "C", loop: "j" }, { kind: "cache_read", stage: "C", tensor: "P", loop: "i" }], /P is computed by compute_at/],
    [[{ kind: "cache_read", stage: "C", tensor: "P", loop: "i" }, { kind: "compute_at", stage: "P", consumer: "C", loop: "j" }], /P is cached by C/],
    [[{ kind: "compute_at", stage: "C", consumer: "D", loop: "j" }, { kind: "split", stage: "D", loop: "j", factor: 2 }], /attached at j \(split before attaching\)/],
    [[{ kind: "cache_read", stage: "C", tensor: "B", loop: "j" }, { kind: "fuse", stage: "C", outer: "i", inner: "j" }], /fuse before attaching/],
  ];
  for (const [steps, message] of bad) {
    it(`refuses ${steps.map((s) => s.kind).join(" then ")}: ${message.source}`, () => {
      const { D } = matmulChain(30, 40, 20);
      assert.throws(() => replay([D], steps), (e: unknown) => e instanceof ScheduleError && message.test(e.message) && e.step === steps[steps.length - 1]);
    });
  }
});
