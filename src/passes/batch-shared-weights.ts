/**
 * Batching products that share their weights: MatMul and Gemm nodes with the same constant B
 * (and C) and attributes, whose A rows do not depend on one another, become one product over
 * all the rows, sliced row by row afterwards. Two cases:
 * - the rows of one [T, K] value X (each A a Slice of rows t..t+1 along axis 0): the product
 *   reads X itself. An unrolled RNN's input projections (x_t W + b for a sequence that is there
 *   from the start).
 * - separate [1, K] values, none computed from any of the group's products: they are
 *   concatenated first. The input projections of a stacked RNN's upper layers (x_t = the layer
 *   below's h_t); a decoder that feeds its output back (x_t computed from step t-1) stays as it is.
 * Either way W is read once per product, in a matrix product, instead of T matrix-vector
 * products that each stream all of W from memory; separate rows go at most MAX_ROWS to a
 * product. The graph is then put back in topological order.
 */
import type { Graph, Model, Node } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import { nodeReads, producers, topologicalOrder } from "./graph-utils.js";
import type { Pass } from "./pass.js";

/**
 * Most rows stacked into one product of separate rows, the rows split evenly (100 steps: four
 * products of 25). A product of 32 rows already reads W once per 32 rows, while the layer above
 * can start after a quarter of the sequence instead of all of it: the layers form a pipeline
 * whose stages a parallel scheduler runs side by side (Rammer's wavefront). A product of all
 * the rows would leave each layer's recurrent chain alone on the machine.
 */
const MAX_ROWS = 32;
const PRODUCTS: ReadonlySet<string> = new Set(["MatMul", "Gemm"]);

/** The row t of a rank-2 value that `slice` takes, or undefined when it is anything else. */
function rowOf(g: Graph, slice: Node): { from: string; row: number } | undefined {
  if (slice.op !== "Slice" || slice.inputs.length < 4 || ((slice.inputs[4] ?? "") !== "" && !isOnes(g, slice.inputs[4]!))) return undefined;
  const shape = g.valueTypes.get(slice.inputs[0]!)?.shape ?? g.inputs.find((v) => v.name === slice.inputs[0])?.type.shape;
  if (!shape || shape.length !== 2 || typeof shape[0] !== "number") return undefined;
  const [starts, ends, axes] = [1, 2, 3].map((i) => ints(g, slice.inputs[i]!));
  if (!starts || !ends || !axes || starts.length !== 1 || ends.length !== 1 || axes.length !== 1) return undefined;
  const row = starts[0]!;
  if ((axes[0] !== 0 && axes[0] !== -2) || row < 0 || row >= shape[0] || ends[0] !== row + 1) return undefined;
  return { from: slice.inputs[0]!, row };
}

function ints(g: Graph, name: string): number[] | undefined {
  const t = g.initializers.get(name);
  return t && (t.dtype === "int64" || t.dtype === "int32") ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

const isOnes = (g: Graph, name: string) => ints(g, name)?.every((s) => s === 1) ?? false;

/** A value of type float32 [1, K]. */
function isRow(g: Graph, v: string): boolean {
  const t = g.valueTypes.get(v) ?? g.inputs.find((i) => i.name === v)?.type;
  return t !== undefined && t.dtype === "float32" && t.shape !== null && t.shape.length === 2 && t.shape[0] === 1 && typeof t.shape[1] === "number";
}

interface Member { readonly node: Node; readonly slice?: Node }

/** Members whose A is not computed from any member's output (one forward pass over the graph). */
function independent(g: Graph, members: readonly Member[]): Member[] {
  const tainted = new Set(members.map((m) => m.node.outputs[0]!));
  for (const n of g.nodes) if (nodeReads(n).some((v) => tainted.has(v))) n.outputs.forEach((o) => tainted.add(o));
  return members.filter((m) => !tainted.has(m.node.inputs[0]!));
}

function batch(g: Graph): Graph {
  const producer = producers(g);
  // Candidate products by (op, rows' source or "separate", weights, attributes).
  const groups = new Map<string, Member[]>();
  for (const n of g.nodes) {
    if (!PRODUCTS.has(n.op) || n.outputs.length !== 1) continue;
    const [a, b, c = ""] = n.inputs as [string, string, string?];
    if (!g.initializers.has(b) || g.initializers.get(b)!.rank !== 2 || (c !== "" && !g.initializers.has(c))) continue;
    if (n.op === "Gemm" && (n.attrs["transA"]?.value ?? 0) !== 0) continue;
    const slice = producer.get(a);
    const row = slice && rowOf(g, slice);
    if (!row && !isRow(g, a)) continue;
    const key = JSON.stringify([n.op, row ? row.from : "", b, c, n.attrs]);
    const members = groups.get(key) ?? [];
    members.push(row ? { node: n, slice } : { node: n });
    groups.set(key, members);
  }
  const replaced = new Map<Node, Node[]>();
  const constants = new Map(g.initializers);
  const int64 = (name: string, value: number) => { constants.set(name, Tensor.fromNumbers("int64", [1], [value])); return name; };
  let fresh = 0;
  const batches = [...groups.values()].flatMap((group) => {
    if (group[0]!.slice) return [group];
    const members = independent(g, group);
    const products = Math.ceil(members.length / MAX_ROWS), rows = Math.ceil(members.length / products);
    return Array.from({ length: products }, (_, i) => members.slice(i * rows, (i + 1) * rows));
  });
  for (const members of batches) {
    if (members.length < 2) continue;
    const first = members[0]!.node;
    const id = fresh++;
    const all = `${first.outputs[0]}_rows${id}`;
    // Rows of one value: the product reads it; separate rows: their Concat.
    const from = members[0]!.slice?.inputs[0] ?? `${first.outputs[0]}_stacked${id}`;
    const stack: Node[] = members[0]!.slice ? [] : [{ op: "Concat", name: `${first.name}_stack`, inputs: members.map((m) => m.node.inputs[0]!), outputs: [from], attrs: { axis: { type: "int", value: 0 } } }];
    const product: Node = { ...first, name: first.name && `${first.name}_rows`, inputs: [from, ...first.inputs.slice(1)], outputs: [all] };
    members.forEach(({ node, slice }, t) => {
      const bounds = slice ? slice.inputs.slice(1) : [int64(`${all}_s${t}`, t), int64(`${all}_e${t}`, t + 1), int64(`${all}_axis`, 0)];
      const row: Node = { op: "Slice", name: node.name, inputs: [all, ...bounds], outputs: node.outputs, attrs: {} };
      replaced.set(node, t === 0 ? [...stack, product, row] : [row]);
    });
  }
  if (replaced.size === 0) return g;
  return { ...g, initializers: constants, nodes: topologicalOrder(g.nodes.flatMap((n) => replaced.get(n) ?? [n])) };
}

export const batchSharedWeights: Pass = { name: "batch-shared-weights", run: (m: Model) => ({ ...m, graph: batch(m.graph) }) };
