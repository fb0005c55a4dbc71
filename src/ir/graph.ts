/**
 * The graph IR: nodes in topological order over named SSA values. Every value name is
 * defined exactly once in a graph (a graph input, an initializer or a node output); a
 * subgraph (If/Loop/Scan body) may also read values of the graphs that enclose it.
 */
import type { Tensor } from "./tensor.js";
import type { TensorType } from "./types.js";

export type Attr =
  | { readonly type: "int"; readonly value: number }
  | { readonly type: "float"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "tensor"; readonly value: Tensor }
  | { readonly type: "graph"; readonly value: Graph }
  | { readonly type: "ints"; readonly value: readonly number[] }
  | { readonly type: "floats"; readonly value: readonly number[] }
  | { readonly type: "strings"; readonly value: readonly string[] }
  | { readonly type: "tensors"; readonly value: readonly Tensor[] }
  | { readonly type: "graphs"; readonly value: readonly Graph[] };

export type AttrType = Attr["type"];

export interface Node {
  /** The op: `Conv` for the default ONNX domain, `domain:Op` otherwise (`ai.onnx.ml:Binarizer`). */
  readonly op: string;
  /** A name for messages; may be empty and need not be unique. */
  readonly name: string;
  /** Value names; `""` marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Value names; `""` marks an output the model does not want. */
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface ValueInfo {
  readonly name: string;
  readonly type: TensorType;
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Constant tensors (weights); their names are values of the graph. */
  readonly initializers: ReadonlyMap<string, Tensor>;
  readonly nodes: readonly Node[];
  /** Types of intermediate values that are known (from the model or from inference). */
  readonly valueTypes: ReadonlyMap<string, TensorType>;
}

/** A model: the main graph plus the opset version of each domain it imports. */
export interface Model {
  readonly graph: Graph;
  /** Domain -> version; the default ONNX domain is `""`. */
  readonly opsets: Readonly<Record<string, number>>;
}

/** The domain part of a node's op (`""` for the default ONNX domain). */
export function opDomain(op: string): string {
  const i = op.lastIndexOf(":");
  return i < 0 ? "" : op.slice(0, i);
}

/** How a node is named in messages: `Conv "conv1"` or `Conv #12`. */
export function describeNode(node: Node, index?: number): string {
  if (node.name) return `${node.op} node "${node.name}"`;
  return index === undefined ? `${node.op} node` : `${node.op} node #${index}`;
}

/** Subgraphs held in a node's attributes. */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attrs)) {
    if (a.type === "graph") out.push(a.value);
    else if (a.type === "graphs") out.push(...a.value);
  }
  return out;
}
