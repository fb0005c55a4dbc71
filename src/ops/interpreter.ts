/**
 * The reference interpreter: runs a graph node by node with each op's reference evaluation.
 * It defines kiln's semantics; every pass and backend is checked against it.
 */
import { EvalError, InputError, InternalError, KilnError, LimitError, ModelError } from "../ir/errors.js";
import { describeNode, opDomain, type Graph, type Model, type Node } from "../ir/graph.js";
import { DEFAULT_MAX_ELEMENTS, Tensor, withElementLimit } from "../ir/tensor.js";
import { Attrs, getOp } from "./registry.js";
import { nodeReads } from "../passes/graph-utils.js";

export interface InterpreterOptions {
  /** Largest element count any intermediate tensor may have. */
  readonly maxElements?: number;
  /** Most iterations one Loop may run (default DEFAULT_MAX_LOOP_ITERATIONS in ops/control.ts). */
  readonly maxLoopIterations?: number;
}

/** Values visible while running a graph: its own, then those of the enclosing graphs. */
export class Scope {
  private readonly values = new Map<string, Tensor>();
  constructor(private readonly parent?: Scope) {}
  get(name: string): Tensor | undefined {
    return this.values.get(name) ?? this.parent?.get(name);
  }
  set(name: string, t: Tensor): void {
    this.values.set(name, t);
  }
}

export function opsetFor(opsets: Readonly<Record<string, number>>, op: string): number {
  const domain = opDomain(op);
  return opsets[domain] ?? opsets[domain === "" ? "ai.onnx" : domain] ?? 1;
}

export function runModel(model: Model, feeds: ReadonlyMap<string, Tensor>, options: InterpreterOptions = {}): Map<string, Tensor> {
  return withElementLimit(options.maxElements ?? DEFAULT_MAX_ELEMENTS, () => runMain(model, feeds, options));
}

function runMain(model: Model, feeds: ReadonlyMap<string, Tensor>, options: InterpreterOptions): Map<string, Tensor> {
  const g = model.graph;
  for (const name of feeds.keys()) {
    if (!g.inputs.some((v) => v.name === name)) throw new InputError(`model has no input named "${name}"`);
  }
  const outs = runGraph(g, g.inputs.map((v) => {
    const t = feeds.get(v.name);
    if (t === undefined) throw new InputError(`input "${v.name}" was not given`);
    return t;
  }), model.opsets, undefined, options);
  return new Map(g.outputs.map((v, i) => [v.name, outs[i]!]));
}

export function runGraph(
  graph: Graph,
  inputs: readonly Tensor[],
  opsets: Readonly<Record<string, number>>,
  parent: Scope | undefined,
  options: InterpreterOptions,
): Tensor[] {
  const scope = new Scope(parent);
  for (const [name, t] of graph.initializers) scope.set(name, t);
  graph.inputs.forEach((v, i) => {
    const t = inputs[i];
    if (t !== undefined) scope.set(v.name, t);
  });
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const live = liveNodes(graph);
  graph.nodes.forEach((node, index) => live.has(node) && runNode(node, index, scope, opsets, options, maxElements));
  return graph.outputs.map((v) => {
    const t = scope.get(v.name);
    if (t === undefined) throw new EvalError(`graph "${graph.name}": output "${v.name}" was not computed`);
    return t;
  });
}

const liveCache = new WeakMap<Graph, ReadonlySet<Node>>();

/**
 * The nodes the graph's outputs depend on. Only those run, as in the compiled path (where DCE
 * removes the rest): a dead node's error or cost must not decide what the model computes.
 */
function liveNodes(graph: Graph): ReadonlySet<Node> {
  let live = liveCache.get(graph);
  if (live) return live;
  const needed = new Set(graph.outputs.map((v) => v.name));
  const set = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (!node.outputs.some((o) => needed.has(o))) continue;
    set.add(node);
    for (const v of nodeReads(node)) needed.add(v);
  }
  liveCache.set(graph, (live = set));
  return live;
}

function runNode(node: Node, index: number, scope: Scope, opsets: Readonly<Record<string, number>>,
  options: InterpreterOptions, maxElements: number): void {
  const inputs = node.inputs.map((name) => {
    if (name === "") return null;
    const t = scope.get(name);
    if (t === undefined) throw new InternalError(`${describeNode(node, index)}: input "${name}" has no value`);
    return t;
  });
  const outputs = evaluateNode(node, inputs, opsets, (g, ins) => runGraph(g, ins, opsets, scope, options), index, options);
  node.outputs.forEach((name, i) => {
    if (name === "") return;
    if (i >= outputs.length) {
      throw new ModelError(`${describeNode(node, index)} declares output ${i} ("${name}"), but ${node.op} produces only ${outputs.length}`);
    }
    const t = outputs[i];
    if (t === undefined || t === null) throw new InternalError(`${describeNode(node, index)} did not produce output ${i}`);
    if (t.size > maxElements) throw new LimitError(`${describeNode(node, index)}: output ${i} has ${t.size} elements, over the limit of ${maxElements}`);
    scope.set(name, t);
  });
}

/** Evaluate one node on given input values with its op's reference evaluation. */
export function evaluateNode(node: Node, inputs: readonly (Tensor | null)[], opsets: Readonly<Record<string, number>>,
  runSubgraph: (g: Graph, inputs: readonly Tensor[]) => Tensor[] = () => {
    throw new InternalError(`${node.op}: no scope to run a subgraph in`);
  }, index?: number, options: InterpreterOptions = {}): (Tensor | null)[] {
  const def = getOp(node.op);
  const opset = opsetFor(opsets, node.op);
  try {
    return def.evaluate({
      node, opset, inputs,
      attrs: new Attrs(node, def.attrs, opset),
      outputCount: node.outputs.length,
      runSubgraph,
      maxLoopIterations: options.maxLoopIterations,
    });
  } catch (e) {
    if (e instanceof KilnError && !e.message.includes(node.op)) e.message = `${describeNode(node, index)}: ${e.message}`;
    if (isAllocationTooLarge(e)) throw new LimitError(`${describeNode(node, index)}: an array too large to allocate (${(e as Error).message})`);
    throw e;
  }
}

/**
 * V8's RangeError for a typed array or buffer too large to allocate. A negative or non-finite length
 * stays a RangeError: that is an op computing a size it should have validated.
 */
function isAllocationTooLarge(e: unknown): boolean {
  if (!(e instanceof RangeError)) return false;
  if (/^(Array buffer allocation failed|Invalid array buffer length)/.test(e.message)) return true;
  const m = /^Invalid typed array length: (.+)$/.exec(e.message);
  return m !== null && Number.isFinite(Number(m[1])) && Number(m[1]) > 0;
}
