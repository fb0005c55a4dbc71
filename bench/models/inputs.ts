/**
 * The inputs of a benchmarked model, as plain data a child process regenerates the identical
 * tensors from: seeded uniform values in [-1, 1) (src/ir/random.ts) or in a given range (token
 * ids), one value everywhere, or a synthetic text page for a text detector.
 */
import type { DType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { Tensor, shapeSize } from "../../src/ir/tensor.js";

export interface InputSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly seed: number;
  /** Every element this value instead of random ones (e.g. a sample rate). */
  readonly value?: number;
  /** Random values in [lo, hi) instead of [-1, 1): token ids below the vocabulary size. */
  readonly range?: readonly [number, number];
  /** A text page (textPage) instead of random values. */
  readonly pattern?: "page";
}

/** What a suite entry overrides of a model's declared inputs. */
export interface InputOverride {
  readonly shape?: readonly number[];
  readonly value?: number;
  readonly range?: readonly [number, number];
  readonly pattern?: "page";
}

/** One spec per graph input: the declared dtype, the declared or overridden shape; seeds 1, 2, ... */
export function inputSpecs(model: Model, overrides: Readonly<Record<string, InputOverride>> = {}): InputSpec[] {
  return model.graph.inputs.map((v, i) => {
    const o = overrides[v.name] ?? {};
    const shape = o.shape ?? v.type.shape;
    if (shape === null || !shape.every((d): d is number => typeof d === "number")) {
      throw new Error(`input "${v.name}" has shape [${v.type.shape ?? "?"}]: the suite must give a concrete one`);
    }
    return {
      name: v.name, dtype: v.type.dtype, shape, seed: i + 1,
      ...(o.value === undefined ? {} : { value: o.value }), ...(o.range ? { range: o.range } : {}), ...(o.pattern ? { pattern: o.pattern } : {}),
    };
  });
}

export function makeFeeds(specs: readonly InputSpec[]): Record<string, Tensor> {
  return Object.fromEntries(specs.map((s) => [s.name, s.pattern === "page" ? textPage(s.shape, s.seed)
    : s.value === undefined ? randomTensor(s.dtype, s.shape, s.seed, ...(s.range ?? [-1, 1]))
    : Tensor.fromNumbers(s.dtype, s.shape, new Array<number>(shapeSize(s.shape)).fill(s.value))]));
}

/**
 * A light page with lines of dark strokes, [1, C, H, W]. Uniform noise has no text in it: a text
 * detector then outputs probabilities below 0.01 everywhere, where a relative comparison
 * measures only the last bits of the final Sigmoid (onnxruntime's own two optimization levels
 * differ by 2.5e-3 there); on a page the probabilities span 0..1.
 */
export function textPage(shape: readonly number[], seed: number): Tensor {
  const [, channels, height, width] = shape as [number, number, number, number];
  const r = rng(seed);
  const data = new Float32Array(shapeSize(shape));
  for (let y = 0; y < height; y++) {
    const line = Math.floor(y / 16) % 3 === 1;
    for (let x = 0; x < width; x++) {
      const v = line && r() < 0.5 ? 0.1 : 0.9;
      for (let c = 0; c < channels; c++) data[(c * height + y) * width + x] = v;
    }
  }
  return new Tensor("float32", [...shape], data);
}
