/**
 * Random schedules (the generator of test/loopir/fuzz.test.ts, seeded) compiled to wasm and run
 * on two threads must compute what the interpreter computes for the same lowered function.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import { shapeSize } from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/loopir/compute.js";
import { interpret } from "../../src/loopir/interpret.js";
import { lower } from "../../src/loopir/lower.js";
import { type Schedule, type Step, ScheduleError, applyStep, createSchedule, replay } from "../../src/loopir/schedule.js";
import { convBiasRelu, inputsFor, matmulChain, mismatch, softmax } from "../loopir/harness.js";
import { runWasm } from "./loopir-wasm-harness.js";
import { tunedFeatures } from "../helpers.js";

const KINDS: Step["kind"][] = ["split", "reorder", "tile", "fuse", "unroll", "vectorize", "parallel", "cache_read", "compute_at", "compute_inline"];

function randomSchedule(out: Tensor, tensors: readonly string[], r: () => number, length: number): Step[] {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const shuffle = <T>(a: readonly T[]): T[] => a.map((x) => [r(), x] as const).sort(([p], [q]) => p - q).map(([, x]) => x);
  let s: Schedule = createSchedule([out]);
  const steps: Step[] = [];
  for (let t = 0; t < length; t++) {
    const st = pick(s.stages), stage = st.tensor.name, leaves = st.leaves, loop = pick(leaves);
    const other = pick(s.stages);
    const step: Step = (() => {
      switch (pick(KINDS)) {
        case "split": return { kind: "split", stage, loop, factor: int(1, 5), ...(r() < 0.4 ? { tail: "peel" as const } : {}) };
        case "reorder": return { kind: "reorder", stage, loops: shuffle(leaves).slice(0, int(1, leaves.length)) };
        case "tile": return { kind: "tile", stage, x: pick(leaves), y: pick(leaves), xFactor: int(1, 4), yFactor: int(1, 4) };
        case "fuse": return { kind: "fuse", stage, outer: loop, inner: leaves[leaves.indexOf(loop) + 1] ?? loop };
        case "unroll": return { kind: "unroll", stage, loop };
        // Vectorizing needs a split by 4 first, which random steps rarely make: offer one.
        case "vectorize": return r() < 0.5 ? { kind: "split", stage, loop: leaves[leaves.length - 1]!, factor: 4 } : { kind: "vectorize", stage, loop: leaves[leaves.length - 1]! };
        case "parallel": return { kind: "parallel", stage, loop };
        case "cache_read": return { kind: "cache_read", stage, tensor: pick(tensors), loop };
        case "compute_at": return { kind: "compute_at", stage, consumer: other.tensor.name, loop: pick(other.leaves) };
        case "compute_inline": return { kind: "compute_inline", stage };
      }
    })();
    try {
      s = applyStep(s, step);
      steps.push(step);
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
    }
  }
  return steps;
}

const features = await tunedFeatures();

describe("random schedules compiled to wasm match the interpreter", { timeout: 120_000 }, () => {
  const workloads = {
    "P -> MatMul -> bias+relu": (int: (lo: number, hi: number) => number) =>
      ({ out: matmulChain(int(1, 9), int(1, 9), int(1, 7)).D, tensors: ["A", "B", "bias", "P", "C"] }),
    "Pad -> Conv2D -> bias -> relu": (int: (lo: number, hi: number) => number) => {
      const kh = int(1, 3), kw = int(1, 3);
      const cfg = { n: int(1, 2), c: int(1, 3), h: int(kh, 7), w: int(kw, 7), f: int(1, 5), kh, kw, pad: int(0, 1), stride: int(1, 2) };
      return { out: convBiasRelu(cfg).Relu, tensors: ["X", "W", "bias", "Pad", "Conv", "Bias"] };
    },
    "softmax": (int: (lo: number, hi: number) => number) => ({ out: softmax(int(1, 6), int(1, 13)).Y, tensors: ["X", "M", "E", "S"] }),
  };
  Object.entries(workloads).forEach(([name, make], w) => {
    it(name, async () => {
      for (let trial = 0; trial < 40; trial++) {
        const r = rng(5000 + 1000 * w + trial);
        const { out, tensors } = make((lo, hi) => lo + Math.floor(r() * (hi - lo + 1)));
        const steps = randomSchedule(out, tensors, r, 12);
        const f = lower(replay([out], steps));
        const inputs = inputsFor([out], trial);
        const want = new Float32Array(shapeSize(out.shape));
        interpret(f, { ...inputs, [out.name]: want });
        const got = (await runWasm([f], inputs, 2, features))[out.name]!;
        const bad = mismatch(got, want, 1e-5, 1e-6);
        assert.equal(bad, -1, `trial ${trial}: ${JSON.stringify(steps)}: [${bad}] = ${got[bad]}, want ${want[bad]}`);
      }
    });
  });
});
