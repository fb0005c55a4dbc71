/**
 * Operator fusion in the style of TVM's FuseOps.
 *
 * Every op has a pattern kind (elementwise < broadcast < injective < reduction <
 * out-elementwise-fusable < opaque). We build the post-dominator tree of the dataflow graph
 * (graph outputs lead to a virtual sink) and visit nodes in topological order. A node is fused
 * with its immediate post-dominator, together with every node on the paths between them, when
 * the kinds allow it:
 *   - elementwise/broadcast into a following elementwise, broadcast, injective or reduction op,
 *     along a path of at most injective ops;
 *   - injective into a following injective op along injective ops;
 *   - an out-elementwise-fusable op (Conv, MatMul, Gemm) or a reduction takes a following chain of
 *     elementwise/broadcast ops as its epilogue (Conv + bias + Add(residual) + Relu is one group);
 *   - opaque ops stand alone, and a group never holds two anchors (out-elementwise-fusable or
 *     reduction ops).
 * Fusing a node with its post-dominator and everything in between keeps each group convex, so
 * the groups form a DAG. Each group of two or more nodes becomes one `kiln:Fused` node whose body
 * is the members' subgraph: the unit that a later stage lowers to one kernel.
 */
import type { Graph, Model, Node, ValueInfo } from "../ir/graph.js";
import type { TensorType } from "../ir/types.js";
import { displayOp } from "../ops/layout.js";
import { patternOf, type PatternKind } from "../ops/registry.js";
import { nodeReads } from "./graph-utils.js";
import type { Pass } from "./pass.js";

const RANK: Record<PatternKind, number> = {
  elementwise: 0, broadcast: 1, injective: 2, reduction: 3, "out-elementwise-fusable": 4, opaque: 5,
};
const SINK = -1;
/** Largest number of ops in one fused function. */
const MAX_GROUP = 64;

export interface FusionResult {
  readonly graph: Graph;
  /** Each group's member nodes (in the original graph), in emission order. */
  readonly groups: readonly (readonly Node[])[];
}

export function fuseOperators(g: Graph): FusionResult {
  const n = g.nodes.length;
  const kind = g.nodes.map((node) => RANK[patternOf(node)]);
  const producerIndex = new Map<string, number>();
  g.nodes.forEach((node, i) => node.outputs.forEach((o) => o !== "" && producerIndex.set(o, i)));
  const consumers: number[][] = g.nodes.map(() => []);
  g.nodes.forEach((node, i) => {
    for (const v of new Set(nodeReads(node))) {
      const p = producerIndex.get(v);
      if (p !== undefined && !consumers[p]!.includes(i)) consumers[p]!.push(i);
    }
  });
  const graphOutputs = new Set(g.outputs.map((v) => v.name));
  const ipdom = postDominators(g, consumers, graphOutputs);

  // Union-find over nodes; each root records its group's anchor (or -1) and size.
  const parent = Array.from({ length: n }, (_, i) => i);
  const anchor = kind.map((k, i) => (k === RANK.reduction || k === RANK["out-elementwise-fusable"] ? i : -1));
  const size = new Array<number>(n).fill(1);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const union = (a: number, b: number) => {
    const ra = find(a), rb = find(b);
    if (ra === rb) return;
    parent[ra] = rb;
    size[rb]! += size[ra]!;
    if (anchor[rb] === -1) anchor[rb] = anchor[ra]!;
  };

  for (let u = 0; u < n; u++) {
    const d = ipdom[u]!;
    if (d === SINK || kind[u] === RANK.opaque) continue;
    const path = pathNodes(u, d, consumers);
    const groupAnchor = anchor[find(u)]!;
    // What the source side allows downstream: epilogues after an anchor; otherwise by its own kind.
    const afterAnchor = groupAnchor !== -1;
    const maxPath = afterAnchor ? RANK.broadcast : RANK.injective;
    const domOk = afterAnchor
      ? kind[d]! <= RANK.broadcast
      : kind[u]! <= RANK.broadcast
        ? kind[d]! <= RANK.injective || kind[d] === RANK.reduction
        : kind[u] === RANK.injective && kind[d]! <= RANK.injective;
    if (!domOk || path.some((p) => kind[p]! > maxPath)) continue;
    const members = [d, ...path];
    const anchors = new Set([groupAnchor, ...members.map((m) => anchor[find(m)]!)].filter((a) => a !== -1));
    if (anchors.size > 1) continue;
    const roots = new Set([find(u), ...members.map(find)]);
    if ([...roots].reduce((s, r) => s + size[r]!, 0) > MAX_GROUP) continue;
    for (const m of members) union(u, m);
  }

  return buildFusedGraph(g, find, consumers);
}

/** Immediate post-dominator of each node (SINK when only the sink post-dominates it). */
function postDominators(g: Graph, consumers: readonly number[][], graphOutputs: ReadonlySet<string>): number[] {
  const n = g.nodes.length;
  const ipdom = new Array<number>(n).fill(SINK);
  const depth = new Array<number>(n).fill(0);
  const depthOf = (i: number) => (i === SINK ? 0 : depth[i]!);
  const lca = (a: number, b: number): number => {
    while (a !== b) {
      if (depthOf(a) >= depthOf(b)) a = a === SINK ? SINK : ipdom[a]!;
      else b = b === SINK ? SINK : ipdom[b]!;
    }
    return a;
  };
  for (let i = n - 1; i >= 0; i--) {
    const feedsOutput = g.nodes[i]!.outputs.some((o) => graphOutputs.has(o));
    const cs = consumers[i]!;
    let dom = feedsOutput || cs.length === 0 ? SINK : cs[0]!;
    for (const c of cs.slice(1)) dom = lca(dom, c);
    ipdom[i] = dom;
    depth[i] = depthOf(dom) + 1;
  }
  return ipdom;
}

/** The nodes strictly between u and its post-dominator d on any path. */
function pathNodes(u: number, d: number, consumers: readonly number[][]): number[] {
  const seen = new Set<number>();
  const stack = [...consumers[u]!];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x === d || seen.has(x)) continue;
    seen.add(x);
    stack.push(...consumers[x]!);
  }
  return [...seen];
}

function buildFusedGraph(g: Graph, find: (i: number) => number, consumers: readonly number[][]): FusionResult {
  const byRoot = new Map<number, number[]>();
  g.nodes.forEach((_, i) => {
    const r = find(i);
    byRoot.set(r, [...(byRoot.get(r) ?? []), i]);
  });
  // Order the groups topologically (they form a DAG because each group is convex).
  const groups = [...byRoot.values()];
  const groupOf = new Map<number, number>();
  groups.forEach((members, k) => members.forEach((i) => groupOf.set(i, k)));
  const indegree = groups.map(() => 0);
  const succ = groups.map(() => new Set<number>());
  groups.forEach((members, k) => {
    for (const i of members) for (const c of consumers[i]!) {
      const kc = groupOf.get(c)!;
      if (kc !== k && !succ[k]!.has(kc)) {
        succ[k]!.add(kc);
        indegree[kc]!++;
      }
    }
  });
  const ready = groups.map((_, k) => k).filter((k) => indegree[k] === 0);
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => groups[a]![0]! - groups[b]![0]!);
    const k = ready.shift()!;
    order.push(k);
    for (const s of succ[k]!) if (--indegree[s]! === 0) ready.push(s);
  }

  const graphOutputs = new Set(g.outputs.map((v) => v.name));
  const readers = new Map<string, Set<number>>();
  groups.forEach((members, k) => {
    for (const i of members) for (const v of nodeReads(g.nodes[i]!)) {
      if (!readers.has(v)) readers.set(v, new Set());
      readers.get(v)!.add(k);
    }
  });
  const readOutside = (k: number, v: string) => graphOutputs.has(v) || [...(readers.get(v) ?? [])].some((j) => j !== k);
  const typeOf = (v: string): TensorType => {
    const init = g.initializers.get(v);
    if (init) return { dtype: init.dtype, shape: init.shape };
    return g.valueTypes.get(v) ?? g.inputs.find((x) => x.name === v)?.type ?? { dtype: "float32", shape: null };
  };

  let counter = 0;
  const nodes: Node[] = [];
  const memberLists: Node[][] = [];
  for (const k of order) {
    const members = groups[k]!.map((i) => g.nodes[i]!);
    memberLists.push(members);
    if (members.length === 1) {
      nodes.push(members[0]!);
      continue;
    }
    const produced = new Set(members.flatMap((m) => m.outputs).filter((o) => o !== ""));
    const inputs = [...new Set(members.flatMap(nodeReads))].filter((v) => !produced.has(v));
    const outputs = [...produced].filter((v) => readOutside(k, v));
    const info = (v: string): ValueInfo => ({ name: v, type: typeOf(v) });
    const anchorNode = members.find((m) => {
      const p = patternOf(m);
      return p === "out-elementwise-fusable" || p === "reduction";
    }) ?? members[0]!;
    const body: Graph = {
      name: `fused_${counter}`,
      inputs: inputs.map(info),
      outputs: outputs.map(info),
      initializers: new Map(),
      nodes: members,
      valueTypes: new Map([...produced].filter((v) => g.valueTypes.has(v)).map((v) => [v, g.valueTypes.get(v)!])),
    };
    nodes.push({
      op: "kiln:Fused",
      name: `fused_${counter++}_${displayOp(anchorNode).replace(/@.*/, "")}`,
      inputs,
      outputs,
      attrs: { body: { type: "graph", value: body }, kind: { type: "string", value: patternOf(anchorNode) } },
    });
  }
  const kept = new Set(nodes.flatMap((node) => node.outputs));
  const valueTypes = new Map([...g.valueTypes].filter(([v]) => kept.has(v)));
  return { graph: { ...g, nodes, valueTypes }, groups: memberLists };
}

export const fusePass: Pass = {
  name: "fuse",
  run: (m: Model) => ({ ...m, graph: fuseOperators(m.graph).graph }),
};
