/**
 * Constant folding: a node whose inputs are all known at compile time is evaluated with the
 * reference interpreter and replaced by initializers holding its outputs. Shape and Size of a
 * value whose shape is static fold too. A cap on each folded tensor's size keeps folding from
 * blowing up the model (a ConstantOfShape that makes a 400 MB weight stays a node).
 */
import { DTYPE_INFO } from "../ir/dtype.js";
import { subgraphsOf, type Graph, type Model, type Node } from "../ir/graph.js";
import { Tensor, shapeSize } from "../ir/tensor.js";
import { isStaticShape } from "../ir/types.js";
import { evaluateNode } from "../ops/interpreter.js";
import { NONDETERMINISTIC_OPS } from "../ops/registry.js";
import type { Pass } from "./pass.js";

/** Largest tensor, in bytes, that folding may create. */
export const DEFAULT_FOLD_CAP_BYTES = 64 * 2 ** 20;
/** Shape/Size fold by running on a zero tensor of the input's shape, up to this many elements. */
const SHAPE_STAND_IN_LIMIT = 1 << 24;

export function foldConstants(g: Graph, opsets: Readonly<Record<string, number>>, capBytes = DEFAULT_FOLD_CAP_BYTES): Graph {
  const initializers = new Map(g.initializers);
  const nodes: Node[] = [];
  const outputs = new Set(g.outputs.map((v) => v.name));
  for (const n of g.nodes) {
    const folded = tryFold(n, g, initializers, opsets, capBytes);
    // A graph output may not be an initializer of the same graph in ONNX; keep such nodes.
    if (folded && !n.outputs.some((o) => outputs.has(o))) {
      n.outputs.forEach((o, i) => o !== "" && initializers.set(o, folded[i]!));
    } else {
      nodes.push(n);
    }
  }
  return { ...g, nodes, initializers };
}

function tryFold(n: Node, g: Graph, known: ReadonlyMap<string, Tensor>, opsets: Readonly<Record<string, number>>, capBytes: number): Tensor[] | null {
  if (NONDETERMINISTIC_OPS.has(n.op) || subgraphsOf(n).length > 0) return null;
  if ((n.op === "Shape" || n.op === "Size") && !known.has(n.inputs[0]!)) return foldShapeOf(n, g, opsets);
  if (n.inputs.some((v) => v !== "" && !known.has(v))) return null;
  // Check the size before computing, from the inferred output types where they are known.
  for (const o of n.outputs) {
    const t = g.valueTypes.get(o);
    if (t && isStaticShape(t.shape) && shapeSize(t.shape) * DTYPE_INFO[t.dtype].bytes > capBytes) return null;
  }
  const values = evaluateNode(n, n.inputs.map((v) => (v === "" ? null : known.get(v)!)), opsets);
  const out: Tensor[] = [];
  for (let i = 0; i < n.outputs.length; i++) {
    const t = values[i];
    if (n.outputs[i] === "") continue;
    if (!t || t.data.byteLength > capBytes) return null;
    out[i] = t;
  }
  return out;
}

/** Shape/Size of a value whose inferred shape is all numbers, evaluated on a zero tensor of that shape. */
function foldShapeOf(n: Node, g: Graph, opsets: Readonly<Record<string, number>>): Tensor[] | null {
  const t = g.valueTypes.get(n.inputs[0]!) ?? g.inputs.find((v) => v.name === n.inputs[0])?.type;
  if (!t || !isStaticShape(t.shape) || shapeSize(t.shape) > SHAPE_STAND_IN_LIMIT) return null;
  const values = evaluateNode(n, [Tensor.zeros(t.dtype, t.shape)], opsets);
  return values.map((v) => v!);
}

export const foldConstantsPass: Pass = {
  name: "fold-constants",
  run: (m: Model) => ({ ...m, graph: foldConstants(m.graph, m.opsets) }),
};
