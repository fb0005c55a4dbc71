/**
 * The inputs of a benchmarked model, as plain data a child process regenerates the identical
 * tensors from: seeded uniform values in [-1, 1) (src/ir/random.ts), or one value everywhere.
 */
import type { DType } from "../../src/ir/dtype.js";
import type { Model } from "../../src/ir/graph.js";
import { randomTensor } from "../../src/ir/random.js";
import { Tensor, shapeSize } from "../../src/ir/tensor.js";

export interface InputSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly seed: number;
  /** Every element this value instead of random ones (e.g. a sample rate). */
  readonly value?: number;
}

/** What a suite entry overrides of a model's declared inputs. */
export interface InputOverride {
  readonly shape?: readonly number[];
  readonly value?: number;
}

/** One spec per graph input: the declared dtype, the declared or overridden shape; seeds 1, 2, ... */
export function inputSpecs(model: Model, overrides: Readonly<Record<string, InputOverride>> = {}): InputSpec[] {
  return model.graph.inputs.map((v, i) => {
    const o = overrides[v.name] ?? {};
    const shape = o.shape ?? v.type.shape;
    if (shape === null || !shape.every((d): d is number => typeof d === "number")) {
      throw new Error(`input "${v.name}" has shape [${v.type.shape ?? "?"}]: the suite must give a concrete one`);
    }
    return { name: v.name, dtype: v.type.dtype, shape, seed: i + 1, ...(o.value === undefined ? {} : { value: o.value }) };
  });
}

export function makeFeeds(specs: readonly InputSpec[]): Record<string, Tensor> {
  return Object.fromEntries(specs.map((s) => [s.name, s.value === undefined
    ? randomTensor(s.dtype, s.shape, s.seed)
    : Tensor.fromNumbers(s.dtype, s.shape, new Array<number>(shapeSize(s.shape)).fill(s.value))]));
}
