/**
 * The rewrite driver: rules are rows of data, each a pattern rooted at one op plus a pure
 * function that returns a rewrite (or null when it does not apply). The driver applies them
 * to a fixed point and records which rule fired how often, so a wrong result names the rule.
 */
import { InternalError } from "../ir/errors.js";
import type { Graph, Model, Node } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import { producers, replaceValue, useCounts } from "./graph-utils.js";

export interface RuleContext {
  readonly graph: Graph;
  readonly opsets: Readonly<Record<string, number>>;
  producer(value: string): Node | undefined;
  /** Reads of a value (by nodes, subgraphs and as a graph output). */
  uses(value: string): number;
  /** The value when it is an initializer. */
  constant(value: string): Tensor | undefined;
  type(value: string): TensorType | undefined;
  /** A value name not yet used in the graph. */
  freshName(base: string): string;
}

export interface Rewrite {
  /** Nodes that take the matched node's place (none: it is deleted). */
  readonly nodes?: readonly Node[];
  /** Reads of the first value are redirected to the second. */
  readonly alias?: readonly (readonly [string, string])[];
  readonly initializers?: ReadonlyMap<string, Tensor>;
  /** Types of the values the new nodes define. */
  readonly types?: ReadonlyMap<string, TensorType>;
  /** Other nodes the rewrite absorbs (a Conv that a BatchNormalization folds into, say). */
  readonly remove?: readonly Node[];
}

export interface Rule {
  readonly name: string;
  /** The root op the rule matches on. */
  readonly op: string;
  apply(node: Node, ctx: RuleContext): Rewrite | null;
}

export interface RewriteResult {
  readonly graph: Graph;
  readonly fired: ReadonlyMap<string, number>;
}

export function rewriteGraph(graph: Graph, opsets: Readonly<Record<string, number>>, rules: readonly Rule[]): RewriteResult {
  const byOp = new Map<string, Rule[]>();
  for (const r of rules) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);
  const fired = new Map<string, number>();
  let g = graph;
  const budget = 20 * (graph.nodes.length + 10);
  let steps = 0;
  let start = 0;
  outer: for (;;) {
    const ctx = makeContext(g, opsets);
    for (let i = start; i < g.nodes.length; i++) {
      const node = g.nodes[i]!;
      for (const rule of byOp.get(node.op) ?? []) {
        const rw = rule.apply(node, ctx);
        if (!rw) continue;
        const next = applyRewrite(g, node, rw);
        if (!next) continue;
        if (++steps > budget) throw new InternalError(`rewrite rules do not reach a fixed point (last: ${rule.name})`);
        fired.set(rule.name, (fired.get(rule.name) ?? 0) + 1);
        g = next;
        // Earlier nodes may now match (a producer became single-use); resume a little before.
        start = Math.max(0, i - 2 - (rw.remove?.length ?? 0));
        continue outer;
      }
    }
    return { graph: g, fired };
  }
}

function makeContext(g: Graph, opsets: Readonly<Record<string, number>>): RuleContext {
  const prod = producers(g);
  const uses = useCounts(g);
  const names = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...prod.keys()]);
  let counter = 0;
  return {
    graph: g, opsets,
    producer: (v) => prod.get(v),
    uses: (v) => uses.get(v) ?? 0,
    constant: (v) => g.initializers.get(v),
    type: (v) => {
      const init = g.initializers.get(v);
      if (init) return { dtype: init.dtype, shape: init.shape };
      return g.valueTypes.get(v) ?? g.inputs.find((x) => x.name === v)?.type;
    },
    freshName: (base) => {
      let name: string;
      do name = `${base}_${counter++}`; while (names.has(name));
      names.add(name);
      return name;
    },
  };
}

function applyRewrite(g: Graph, node: Node, rw: Rewrite): Graph | null {
  const removed = new Set<Node>([node, ...(rw.remove ?? [])]);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (n === node) nodes.push(...(rw.nodes ?? []));
    else if (!removed.has(n)) nodes.push(n);
  }
  const initializers = new Map(g.initializers);
  for (const [k, t] of rw.initializers ?? []) initializers.set(k, t);
  const valueTypes = new Map(g.valueTypes);
  for (const [k, t] of rw.types ?? []) valueTypes.set(k, t);
  let next: Graph | null = { ...g, nodes, initializers, valueTypes };
  for (const [from, to] of rw.alias ?? []) {
    next = replaceValue(next, from, to);
    if (!next) return null;
  }
  return next;
}

export function rewritePass(name: string, rules: readonly Rule[]) {
  return {
    name,
    run: (m: Model): Model => ({ ...m, graph: rewriteGraph(m.graph, m.opsets, rules).graph }),
  };
}
