/**
 * Batching products that share their weights over the rows of one value: MatMul and Gemm nodes
 * whose A is one row of the same [T, K] value X (a Slice of rows t..t+1 along axis 0) and whose
 * B (and C) are the same weights become one product over all of X, sliced row by row
 * afterwards. An unrolled RNN's input projections (x_t W + b for every step of a sequence that
 * is there from the start) then read W once, as one matrix product, instead of T
 * matrix-vector products that each stream all of W from memory.
 */
import type { Graph, Model, Node } from "../ir/graph.js";
import type { Pass } from "./pass.js";

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

function batch(g: Graph): Graph {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  // Candidate products by (op, X, weights, attributes).
  const groups = new Map<string, { node: Node; slice: Node; row: number }[]>();
  for (const n of g.nodes) {
    if (!PRODUCTS.has(n.op) || n.outputs.length !== 1) continue;
    const [a, b, c = ""] = n.inputs as [string, string, string?];
    if (!g.initializers.has(b) || g.initializers.get(b)!.rank !== 2 || (c !== "" && !g.initializers.has(c))) continue;
    if (n.op === "Gemm" && (n.attrs["transA"]?.value ?? 0) !== 0) continue;
    const slice = producer.get(a);
    const row = slice && rowOf(g, slice);
    if (!row) continue;
    const key = JSON.stringify([n.op, row.from, b, c, n.attrs]);
    const members = groups.get(key) ?? [];
    members.push({ node: n, slice: slice!, row: row.row });
    groups.set(key, members);
  }
  const replaced = new Map<Node, Node[]>();
  let fresh = 0;
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const first = members[0]!.node;
    const from = members[0]!.slice.inputs[0]!;
    const all = `${first.outputs[0]}_rows${fresh++}`;
    const product: Node = { ...first, name: first.name && `${first.name}_rows`, inputs: [from, ...first.inputs.slice(1)], outputs: [all] };
    members.forEach(({ node, slice }, i) => {
      const row: Node = { op: "Slice", name: node.name, inputs: [all, ...slice.inputs.slice(1)], outputs: node.outputs, attrs: {} };
      replaced.set(node, i === 0 ? [product, row] : [row]);
    });
  }
  if (replaced.size === 0) return g;
  return { ...g, nodes: g.nodes.flatMap((n) => replaced.get(n) ?? [n]) };
}

export const batchSharedWeights: Pass = { name: "batch-shared-weights", run: (m: Model) => ({ ...m, graph: batch(m.graph) }) };
