/** Whole-graph queries and edits the passes share: who produces and who reads each value, renaming. */
import { InternalError } from "../ir/errors.js";
import { subgraphsOf, type Attr, type Graph, type Node } from "../ir/graph.js";

/** Values a subgraph reads from enclosing scopes. */
export function freeVariables(g: Graph): Set<string> {
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  const free = new Set<string>();
  for (const n of g.nodes) {
    for (const v of nodeReads(n)) if (v !== "" && !defined.has(v)) free.add(v);
    for (const o of n.outputs) defined.add(o);
  }
  for (const v of g.outputs) if (!defined.has(v.name)) free.add(v.name);
  return free;
}

/** Every value a node reads: its inputs and what its subgraphs read from outside. */
export function nodeReads(n: Node): string[] {
  const reads = n.inputs.filter((v) => v !== "");
  for (const g of subgraphsOf(n)) reads.push(...freeVariables(g));
  return reads;
}

/** How many times each value is read (by nodes, subgraphs, and as a graph output). */
export function useCounts(g: Graph): Map<string, number> {
  const uses = new Map<string, number>();
  const add = (v: string) => uses.set(v, (uses.get(v) ?? 0) + 1);
  for (const n of g.nodes) for (const v of nodeReads(n)) add(v);
  for (const v of g.outputs) add(v.name);
  return uses;
}

export function producers(g: Graph): Map<string, Node> {
  const p = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o !== "") p.set(o, n);
  return p;
}

/** Rename values throughout a node, including inside its subgraphs' free reads. */
export function renameInNode(n: Node, rename: ReadonlyMap<string, string>): Node {
  const r = (v: string) => rename.get(v) ?? v;
  const inputs = n.inputs.map(r);
  const outputs = n.outputs.map(r);
  let attrs = n.attrs;
  if (subgraphsOf(n).length > 0) {
    const next: Record<string, Attr> = {};
    for (const [k, a] of Object.entries(n.attrs)) {
      if (a.type === "graph") next[k] = { type: "graph", value: renameFree(a.value, rename) };
      else if (a.type === "graphs") next[k] = { type: "graphs", value: a.value.map((g) => renameFree(g, rename)) };
      else next[k] = a;
    }
    attrs = next;
  }
  const same = inputs.every((v, i) => v === n.inputs[i]) && outputs.every((v, i) => v === n.outputs[i]) && attrs === n.attrs;
  return same ? n : { ...n, inputs, outputs, attrs };
}

/** Rename the outer values a subgraph reads (its own definitions shadow and stay). */
function renameFree(g: Graph, rename: ReadonlyMap<string, string>): Graph {
  const own = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  const outer = new Map([...rename].filter(([k]) => !own.has(k)));
  if (outer.size === 0) return g;
  return {
    ...g,
    nodes: g.nodes.map((n) => renameInNode(n, outer)),
    outputs: g.outputs.map((v) => ({ ...v, name: outer.get(v.name) ?? v.name })),
  };
}

/**
 * Make every read of `from` read `to` instead, so the node defining `from` can go. When `from`
 * is a graph output (whose name is the model's interface) and `to` is an ordinary node
 * output, `to` is renamed to `from` instead. Returns null when neither works (a graph output
 * aliasing a graph input or a weight), in which case the caller keeps the node.
 */
export function replaceValue(g: Graph, from: string, to: string): Graph | null {
  const isOutput = (v: string) => g.outputs.some((o) => o.name === v);
  if (!isOutput(from)) {
    const rename = new Map([[from, to]]);
    return { ...g, nodes: g.nodes.map((n) => renameInNode(n, rename)) };
  }
  const producedByNode = g.nodes.some((n) => n.outputs.includes(to));
  if (!producedByNode || isOutput(to)) return null;
  const rename = new Map([[to, from]]);
  const valueTypes = new Map(g.valueTypes);
  const t = valueTypes.get(to);
  if (t) valueTypes.set(from, t);
  valueTypes.delete(to);
  return { ...g, valueTypes, nodes: g.nodes.map((n) => renameInNode(n, rename)) };
}

/**
 * `nodes` reordered so that every node comes after the producers of what it reads, keeping the
 * given order wherever it already allows (the ready node that came first goes next).
 */
export function topologicalOrder(nodes: readonly Node[]): Node[] {
  const producedBy = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => o !== "" && producedBy.set(o, i)));
  const waiting = nodes.map(() => 0);
  const readers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const p of new Set(nodeReads(n).map((v) => producedBy.get(v)).filter((p): p is number => p !== undefined && p !== i))) {
      waiting[i]!++;
      readers[p]!.push(i);
    }
  });
  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const out: Node[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    out.push(nodes[i]!);
    for (const r of readers[i]!) if (--waiting[r]! === 0) ready.push(r);
  }
  if (out.length !== nodes.length) throw new InternalError("topologicalOrder: the nodes have a cycle");
  return out;
}

/**
 * The wave of each node: 0 for nodes that read no other node's output, otherwise one more than
 * the latest wave among its producers. Nodes in one wave are independent of one another.
 */
export function waves(nodes: readonly Node[]): number[] {
  const waveOf = new Map<string, number>();
  return nodes.map((n) => {
    const w = Math.max(-1, ...nodeReads(n).map((v) => waveOf.get(v) ?? -1)) + 1;
    for (const o of n.outputs) if (o !== "") waveOf.set(o, w);
    return w;
  });
}

/** The nodes (in a topological order) sorted by wave, in their given order within a wave. */
export function waveOrder(nodes: readonly Node[]): Node[] {
  const w = waves(nodes);
  return nodes.map((n, i) => ({ n, w: w[i]!, i })).sort((a, b) => a.w - b.w || a.i - b.i).map((x) => x.n);
}

/** A binary min-heap of node indices. */
class MinHeap {
  private readonly items: number[] = [];
  get size(): number { return this.items.length; }
  push(x: number): void {
    const a = this.items;
    a.push(x);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): number {
    const a = this.items, top = a[0]!, last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
