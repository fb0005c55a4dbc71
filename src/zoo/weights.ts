/** Seeded weights and constants for the zoo models: one seed per parameter, in build order, so every build is identical. */
import type { GraphBuilder } from "../frontend/builder/builder.js";
import { randomTensor } from "../ir/random.js";
import { Tensor } from "../ir/tensor.js";

export class Weights {
  private seed: number;
  private readonly constants = new Set<string>();

  constructor(private readonly b: GraphBuilder, seed = 1) {
    this.seed = seed;
  }

  /**
   * A parameter uniform in ±gain*sqrt(3/fanIn), i.e. of variance gain²/fanIn: gain 1 keeps a
   * linear layer's output variance at its input's, gain √2 does so through a Relu (He).
   */
  param(name: string, shape: readonly number[], fanIn: number, gain = 1): string {
    const bound = gain * Math.sqrt(3 / fanIn);
    return this.uniform(name, shape, -bound, bound);
  }

  /** A parameter uniform in [lo, hi): a normalization's scale near 1, say. */
  uniform(name: string, shape: readonly number[], lo: number, hi: number): string {
    return this.b.weight(name, randomTensor("float32", shape, this.seed++, lo, hi));
  }

  /** An int64 vector (slice bounds, shapes), one initializer per distinct value however often it is used. */
  ints(values: readonly number[]): string {
    return this.constant(`i64_${values.map(spell).join("_")}`, () => Tensor.fromBigInts("int64", [values.length], values.map(BigInt)));
  }

  /** A rank-0 constant (a Gather index, a Range bound, an exporter's `1.0` or `-3.4e38`), one initializer per value. */
  scalar(value: number, dtype: "float32" | "int64" = "float32"): string {
    return this.constant(`${dtype}_${spell(value)}`, () => Tensor.scalar(dtype, value));
  }

  private constant(name: string, make: () => Tensor): string {
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.b.weight(name, make());
    }
    return name;
  }
}

const spell = (v: number) => (v < 0 ? `m${-v}` : `${v}`);
