/**
 * Building the replacement of a rewrite rule: nodes with fresh value names and the constants
 * they read, in the op forms of the model's opset, collected into a Rewrite whose last nodes
 * copy the results into the replaced node's outputs.
 */
import type { Attr, Node } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { opsetFor } from "../ops/interpreter.js";
import type { OpEmitter } from "./lstm-cell.js";
import type { Rewrite, RuleContext } from "./rewrite.js";

export interface RuleEmitter extends OpEmitter {
  /** An int64 vector constant. */
  ints(values: readonly number[]): string;
  /** A float32 scalar constant. */
  scalar(value: number): string;
  /** A constant tensor. */
  constant(t: Tensor): string;
  reshape(x: string, shape: readonly number[]): string;
  /** The rewrite: the nodes so far, then `results[k]` copied into `outputs[k]` (skipping ""). */
  rewrite(outputs: readonly string[], results: readonly (string | undefined)[]): Rewrite;
}

/**
 * Whether `reshape` can target shapes shaped like these: Reshape takes its shape as an input from
 * opset 5, and an empty dimension needs allowzero, from opset 14.
 */
export function canReshape(ctx: RuleContext, ...shapes: readonly (readonly number[])[]): boolean {
  const opset = opsetFor(ctx.opsets, "Reshape");
  return opset >= 5 && (opset >= 14 || shapes.every((s) => !s.includes(0)));
}

/** Constants in the forms the ops want at `opset` of the default domain. */
export function ruleEmitter(ctx: RuleContext, base: string, opset: number): RuleEmitter {
  const nodes: Node[] = [];
  const initializers = new Map<string, Tensor>();
  const known = new Map<string, string>();
  const constant = (t: Tensor, key?: string) => {
    const hit = key === undefined ? undefined : known.get(key);
    if (hit) return hit;
    const name = ctx.freshName(`${base}_const`);
    initializers.set(name, t);
    if (key !== undefined) known.set(key, name);
    return name;
  };
  const ints = (values: readonly number[]) => constant(Tensor.fromNumbers("int64", [values.length], values), `i${values.join(",")}`);
  const node = (op: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}) => {
    const out = ctx.freshName(base);
    nodes.push({ op, name: "", inputs: [...inputs], outputs: [out], attrs });
    return out;
  };
  const intsAttr = (value: readonly number[]): Attr => ({ type: "ints", value });
  return {
    node, ints, constant: (t) => constant(t),
    scalar: (v) => constant(Tensor.scalar("float32", v), `f${v}`),
    slice: (x, axis, start, end) => (opset < 10
      ? node("Slice", [x], { axes: intsAttr([axis]), starts: intsAttr([start]), ends: intsAttr([end]) })
      : node("Slice", [x, ints([start]), ints([end]), ints([axis])])),
    // A literal 0 is "copy the input's dimension" unless allowzero says it is an empty one.
    reshape: (x, shape) => node("Reshape", [x, ints(shape)], shape.includes(0) ? { allowzero: { type: "int", value: 1 } } : {}),
    rewrite: (outputs, results) => ({
      nodes: [...nodes, ...outputs.flatMap((o, k) => (o === "" || results[k] === undefined ? [] : [{
        op: "Identity", name: "", inputs: [results[k]!], outputs: [o], attrs: {},
      }]))],
      initializers,
    }),
  };
}
