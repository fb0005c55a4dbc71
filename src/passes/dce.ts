/** Dead code elimination: nodes none of whose outputs are read, and initializers nobody reads. */
import type { Graph, Model } from "../ir/graph.js";
import { nodeReads } from "./graph-utils.js";
import type { Pass } from "./pass.js";

export function eliminateDeadCode(g: Graph): Graph {
  const live = new Set<string>(g.outputs.map((v) => v.name));
  const kept: typeof g.nodes[number][] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => o !== "" && live.has(o))) continue;
    kept.push(n);
    for (const v of nodeReads(n)) live.add(v);
  }
  kept.reverse();
  const initializers = new Map([...g.initializers].filter(([name]) => live.has(name)));
  // Outputs nobody reads become anonymous, so later stages need not compute them.
  const nodes = kept.map((n) => (n.outputs.every((o) => o === "" || live.has(o)) ? n : { ...n, outputs: n.outputs.map((o) => (live.has(o) ? o : "")) }));
  const valueTypes = new Map([...g.valueTypes].filter(([name]) => live.has(name)));
  return { ...g, nodes, initializers, valueTypes };
}

export const dce: Pass = {
  name: "dce",
  run: (m: Model) => ({ ...m, graph: eliminateDeadCode(m.graph) }),
};
