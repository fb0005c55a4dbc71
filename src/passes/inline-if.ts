/**
 * If nodes whose condition is known at compile time (a folded constant: shape tests, or a scalar
 * input the session bound) are replaced by the nodes of the branch they take. The taken branch
 * may hold Ifs of its own whose conditions fold only once it is part of the graph (a Shape of a
 * value it computes), so the pass alternates inlining and constant folding until no If is left
 * that it can resolve.
 *
 * Inlining rather than compiling both branches keeps one straight-line program per binding of
 * the inputs; the session compiles another program when a bound value changes.
 */
import { type Graph, type Model, type Node, subgraphsOf } from "../ir/graph.js";
import { foldConstants } from "./fold-constants.js";
import { nodeReads } from "./graph-utils.js";
import type { Pass } from "./pass.js";
import { type Rule, rewriteGraph } from "./rewrite.js";

/** Every name a graph defines at its top level. */
function definedNames(g: Graph): Set<string> {
  return new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
}

/** If(cond constant) -> the taken branch's nodes, its outputs copied into the If's by Identity. */
export const inlineConstantIf: Rule = {
  name: "inline-constant-if",
  op: "If",
  apply: (node, ctx) => {
    const cond = ctx.constant(node.inputs[0]!);
    if (!cond || cond.size !== 1) return null;
    const branchAttr = node.attrs[cond.numbers()[0] ? "then_branch" : "else_branch"];
    if (branchAttr?.type !== "graph") return null;
    const branch = branchAttr.value;
    if (branch.inputs.length > 0 || branch.outputs.length < node.outputs.length) return null;
    // A branch value named like a value of the graph would shadow it once inlined.
    const taken = definedNames(ctx.graph);
    if ([...branch.initializers.keys(), ...branch.nodes.flatMap((n) => n.outputs)].some((v) => v !== "" && taken.has(v))) return null;
    const copies: Node[] = node.outputs.flatMap((o, i) => (o === "" ? [] : [{
      op: "Identity", name: `${node.name}/inlined`, inputs: [branch.outputs[i]!.name], outputs: [o], attrs: {},
    }]));
    return { nodes: [...branch.nodes, ...copies], initializers: branch.initializers, types: branch.valueTypes };
  },
};

export function inlineIfs(m: Model): Model {
  let g = m.graph;
  for (;;) {
    const { graph, fired } = rewriteGraph(g, m.opsets, [inlineConstantIf]);
    if (fired.size === 0) return { ...m, graph: g };
    g = foldConstants(graph, m.opsets);
  }
}

export const inlineIfPass: Pass = { name: "inline-if", run: inlineIfs };

/** The inputs of a graph that the condition of some If in it (or in its subgraphs) depends on. */
export function conditionInputs(g: Graph): Set<string> {
  const producer = new Map<string, Node>();
  const conditions: string[] = [];
  const scan = (graph: Graph) => {
    for (const n of graph.nodes) {
      for (const o of n.outputs) producer.set(o, n);
      if (n.op === "If" && n.inputs[0]) conditions.push(n.inputs[0]);
      subgraphsOf(n).forEach(scan);
    }
  };
  scan(g);
  const inputs = new Set(g.inputs.map((v) => v.name));
  const seen = new Set<string>(), found = new Set<string>();
  for (const stack = conditions; stack.length > 0;) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (inputs.has(v)) found.add(v);
    const p = producer.get(v);
    if (p) stack.push(...nodeReads(p));
  }
  return found;
}
