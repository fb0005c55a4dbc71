/**
 * Common subexpression elimination: structurally identical nodes (same op, same inputs, same
 * attributes) compute the same values, so the later one reads the earlier one's outputs.
 * Identical initializers (same dtype, shape and bytes) are merged first, which lets nodes over
 * equal constants match too. Nodes with subgraphs and nondeterministic ops are left alone.
 */
import type { Attr, Graph, Model, Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { printType } from "../ir/text.js";
import { subgraphsOf } from "../ir/graph.js";
import { NONDETERMINISTIC_OPS } from "../ops/registry.js";
import { renameInNode } from "./graph-utils.js";
import type { Pass } from "./pass.js";

/** A cheap key for grouping tensors: type, shape and a few sampled bytes; equal tensors share it. */
function tensorBucket(t: Tensor): string {
  const bytes = tensorBytes(t);
  const step = Math.max(1, Math.floor(bytes.length / 16));
  let sample = "";
  for (let i = 0; i < bytes.length; i += step) sample += bytes[i]!.toString(16);
  return `${printType({ dtype: t.dtype, shape: t.shape })}:${sample}`;
}

const tensorBytes = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const sameTensor = (a: Tensor, b: Tensor) => a.dtype === b.dtype && Buffer.compare(tensorBytes(a), tensorBytes(b)) === 0;

/** A content key for small tensors held in attributes. */
function tensorKey(t: Tensor): string {
  return `${printType({ dtype: t.dtype, shape: t.shape })}:${Buffer.from(tensorBytes(t)).toString("base64")}`;
}

function attrKey(a: Attr): string {
  switch (a.type) {
    case "tensor": return `t:${tensorKey(a.value)}`;
    case "tensors": return `ts:${a.value.map(tensorKey).join(";")}`;
    case "float": return `f:${Object.is(a.value, -0) ? "-0" : a.value}`;
    case "graph": case "graphs": return "graph"; // never compared: such nodes are skipped
    default: return `${a.type}:${JSON.stringify(a.value)}`;
  }
}

export function eliminateCommonSubexpressions(g: Graph): Graph {
  const outputs = new Set(g.outputs.map((v) => v.name));
  const rename = new Map<string, string>();
  // Equal initializers: keep the first of each kind.
  const initializers = new Map<string, Tensor>();
  const buckets = new Map<string, string[]>();
  for (const [name, t] of g.initializers) {
    const bucket = tensorBucket(t);
    const same = (buckets.get(bucket) ?? []).find((other) => sameTensor(initializers.get(other)!, t));
    if (same !== undefined && !outputs.has(name)) rename.set(name, same);
    else {
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), name]);
      initializers.set(name, t);
    }
  }
  const seen = new Map<string, Node>();
  const nodes: Node[] = [];
  for (const original of g.nodes) {
    const n = renameInNode(original, rename);
    if (subgraphsOf(n).length > 0 || NONDETERMINISTIC_OPS.has(n.op)) {
      nodes.push(n);
      continue;
    }
    const key = `${n.op}(${JSON.stringify(n.inputs)})#${n.outputs.length}{${Object.keys(n.attrs).sort().map((k) => `${k}=${attrKey(n.attrs[k]!)}`).join(",")}}`;
    const prev = seen.get(key);
    const replaceable = prev !== undefined && n.outputs.every((o, i) => o === "" || (!outputs.has(o) && prev.outputs[i] !== ""));
    if (prev && replaceable) {
      n.outputs.forEach((o, i) => o !== "" && rename.set(o, prev.outputs[i]!));
      continue;
    }
    if (!prev) seen.set(key, n);
    nodes.push(n);
  }
  if (rename.size === 0) return g;
  return { ...g, initializers, nodes: nodes.map((n) => renameInNode(n, rename)) };
}

export const cse: Pass = {
  name: "cse",
  run: (m: Model) => ({ ...m, graph: eliminateCommonSubexpressions(m.graph) }),
};
