/**
 * Shape and type inference over a whole model: each op's `infer` rule, applied in node order.
 * Values known at compile time (initializers, Constant, and small all-constant subexpressions
 * such as Shape -> Gather -> Concat) are evaluated on the way, so that Reshape and friends
 * see the numbers they need. Symbolic dimensions flow through the rules.
 */
import { KilnError, LimitError, ModelError } from "../ir/errors.js";
import { describeNode, subgraphsOf, type Attr, type Graph, type Model, type Node } from "../ir/graph.js";
import { DEFAULT_MAX_ELEMENTS, shapeSize, Tensor, withElementLimit } from "../ir/tensor.js";
import { isStaticShape, type TensorType } from "../ir/types.js";
import { evaluateNode, opsetFor } from "./interpreter.js";
import { Attrs, getOp, NONDETERMINISTIC_OPS } from "./registry.js";
import { checkSignature } from "./signature.js";

/** Largest constant (in elements) that inference evaluates to learn values downstream. */
const FOLD_LIMIT = 1 << 16;


interface TypeScope {
  type(name: string): TensorType | undefined;
  constant(name: string): Tensor | undefined;
}

export interface InferOptions {
  /** Largest element count a statically shaped value may have (declared or inferred). */
  readonly maxElements?: number;
  /**
   * Check every node against its op's ONNX signature (default). Off when re-inferring after
   * kiln's own rewrites, which may use an op or form from a later opset than the model's.
   */
  readonly signatures?: boolean;
}

export function inferModel(model: Model, options: InferOptions = {}): Model {
  const empty: TypeScope = { type: () => undefined, constant: () => undefined };
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const graph = withElementLimit(maxElements, () => inferGraph(model.graph, model.opsets, empty, model.graph.inputs.map((v) => v.type), maxElements, options.signatures ?? true));
  return { ...model, graph };
}

/** A value whose static shape is over the element limit could never be computed: reject it before it is. */
function checkSize(t: TensorType, what: () => string, maxElements: number): void {
  if (!isStaticShape(t.shape)) return;
  const n = shapeSize(t.shape);
  if (n > maxElements) throw new LimitError(`${what()} has shape [${t.shape.join(",")}] of ${n} elements, over the limit of ${maxElements}`);
}

/** Fill `valueTypes` for every value of a graph (and its subgraphs). */
export function inferGraph(
  graph: Graph,
  opsets: Readonly<Record<string, number>>,
  outer: TypeScope,
  inputTypes: readonly (TensorType | null)[],
  maxElements = DEFAULT_MAX_ELEMENTS,
  signatures = true,
): Graph {
  const types = new Map<string, TensorType>();
  const constants = new Map<string, Tensor>();
  let freshCount = 0;
  const scope: TypeScope = {
    type: (n) => types.get(n) ?? outer.type(n),
    constant: (n) => constants.get(n) ?? outer.constant(n),
  };
  graph.inputs.forEach((v, i) => {
    // A subgraph's inputs are what its op passes in; the body's own declarations are hints only.
    const t = inputTypes[i] ?? unknownShape(v.type);
    checkSize(t, () => `graph "${graph.name}": input "${v.name}"`, maxElements);
    types.set(v.name, t);
  });
  for (const [name, t] of graph.initializers) {
    types.set(name, { dtype: t.dtype, shape: t.shape });
    if (!graph.inputs.some((v) => v.name === name)) constants.set(name, t);
  }

  const nodes = graph.nodes.map((node, index) => {
    const def = getOp(node.op);
    const opset = opsetFor(opsets, node.op);
    const inputs = node.inputs.map((n) => (n === "" ? null : scope.type(n) ?? null));
    const known = node.inputs.map((n) => (n === "" ? undefined : scope.constant(n)));
    const typedSubgraphs = new Map<Graph, Graph>();
    const attrs = new Attrs(node, def.attrs, opset);
    // An attribute from another opset version of the op means something this one does not do.
    for (const name of Object.keys(node.attrs)) {
      const spec = def.attrs[name];
      if (spec && ((spec.since ?? 0) > opset || (spec.until ?? Infinity) <= opset)) {
        throw new ModelError(`${describeNode(node, index)}: attribute '${name}' does not exist in opset ${opset} of ${node.op}`);
      }
      const a = node.attrs[name]!;
      if (spec?.values && a.type === "string" && !spec.values.includes(a.value)) {
        throw new ModelError(`${describeNode(node, index)}: attribute '${name}' is ${JSON.stringify(a.value)}; ${node.op} takes ${spec.values.map((v) => `'${v}'`).join(", ")}`);
      }
    }
    if (signatures) checkSignature(node, index, opset, inputs);
    let outTypes: (TensorType | null)[];
    try {
      outTypes = node.inputs.some((n, i) => n !== "" && inputs[i] === null)
        ? node.outputs.map(() => null)
        : def.infer({
          node, opset, attrs, inputs, constants: known,
          outputCount: node.outputs.length,
          fresh: () => `_${graph.name.replace(/[^A-Za-z0-9_]/g, "")}${freshCount++}`,
          inferSubgraph: (g, ins) => {
            const typed = inferGraph(g, opsets, scope, ins, maxElements, signatures);
            typedSubgraphs.set(g, typed);
            return typed.outputs.map((v) => v.type);
          },
        });
    } catch (e) {
      if (e instanceof KilnError) throw new ModelError(`shape inference failed at ${describeNode(node, index)}: ${e.message}`);
      throw e;
    }
    const extra = node.outputs.findIndex((name, i) => i >= outTypes.length && name !== "");
    if (extra >= 0) {
      throw new ModelError(`${describeNode(node, index)} declares output ${extra} ("${node.outputs[extra]}"), but ${node.op} has only ${outTypes.length} output${outTypes.length === 1 ? "" : "s"} here`);
    }
    node.outputs.forEach((name, i) => {
      const t = outTypes[i];
      if (name === "" || !t) return;
      // One check for every op's rule: no attribute or input may make a dimension negative.
      const bad = t.shape?.find((d) => typeof d === "number" && !(Number.isSafeInteger(d) && d >= 0));
      if (bad !== undefined) {
        throw new ModelError(`${describeNode(node, index)}: output "${name}" would have the invalid shape [${t.shape!.join(",")}] (dimension ${bad})`);
      }
      checkSize(t, () => `${describeNode(node, index)}: output "${name}"`, maxElements);
      types.set(name, t);
    });
    // Shape and Size of statically shaped values are known even when their data is not.
    const shapes = def.fromShapes && inputs.every((t) => t !== null && isStaticShape(t.shape)) ? inputs.map((t) => t!.shape as number[]) : null;
    if (shapes && node.inputs.some((n, i) => n !== "" && known[i] === undefined)) {
      def.fromShapes!({ node, opset, attrs, outputCount: node.outputs.length }, shapes).forEach((v, i) => {
        if (node.outputs[i]) constants.set(node.outputs[i]!, v);
      });
    } else foldIfSmall(node, index, outTypes, known, opsets, constants);
    return typedSubgraphs.size === 0 ? node : withSubgraphs(node, typedSubgraphs);
  });

  const valueTypes = new Map<string, TensorType>();
  for (const node of nodes) {
    for (const name of node.outputs) {
      const t = types.get(name);
      if (name !== "" && t) valueTypes.set(name, t);
    }
  }
  const outputs = graph.outputs.map((v) => ({ name: v.name, type: scope.type(v.name) ?? unknownShape(v.type) }));
  const inputsTyped = graph.inputs.map((v) => ({ name: v.name, type: types.get(v.name)! }));
  return { ...graph, inputs: inputsTyped, outputs, nodes, valueTypes };
}

function foldIfSmall(node: Node, index: number, outTypes: readonly (TensorType | null)[], known: readonly (Tensor | undefined)[],
  opsets: Readonly<Record<string, number>>, constants: Map<string, Tensor>): void {
  if (NONDETERMINISTIC_OPS.has(node.op) || subgraphsOf(node).length > 0) return;
  if (node.inputs.some((n, i) => n !== "" && known[i] === undefined)) return;
  const small = outTypes.every((t) => t !== null && isStaticShape(t.shape) && shapeSize(t.shape) <= FOLD_LIMIT);
  if (!small || outTypes.length === 0) return;
  let values: (Tensor | null)[];
  try {
    values = evaluateNode(node, known.map((t) => t ?? null), opsets, undefined, index);
  } catch (e) {
    if (e instanceof KilnError) throw new ModelError(`constant evaluation failed at ${describeNode(node, index)}: ${e.message}`);
    throw e;
  }
  node.outputs.forEach((name, i) => {
    const v = values[i];
    if (name !== "" && v) constants.set(name, v);
  });
}

/**
 * A value inference could not type keeps only its declared dtype. Declared shapes (value_info,
 * graph outputs, a body's inputs) are never taken as facts: a wrong one would size buffers and
 * fold Shape nodes to values the ops do not compute, so every shape kiln plans by is computed.
 */
function unknownShape(declared: TensorType): TensorType {
  return { dtype: declared.dtype, shape: null };
}

function withSubgraphs(node: Node, typed: ReadonlyMap<Graph, Graph>): Node {
  const attrs: Record<string, Attr> = {};
  for (const [k, a] of Object.entries(node.attrs)) {
    if (a.type === "graph") attrs[k] = { type: "graph", value: typed.get(a.value) ?? a.value };
    else if (a.type === "graphs") attrs[k] = { type: "graphs", value: a.value.map((g) => typed.get(g) ?? g) };
    else attrs[k] = a;
  }
  return { ...node, attrs };
}
