/**
 * An ONNX model on TensorFlow.js's wasm backend: kiln's importer reads the graph, tfjs-ops.ts
 * translates each node, nodes over constants only (weights built by ConstantOfShape, shape
 * arithmetic) run once at load, and a run executes the rest in one tf.tidy.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { importOnnx } from "../../src/frontend/onnx/import.js";
import { type Graph, type Node, describeNode } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import { type Exec, NotApplicable, OPS, type V, hostToTf, nchw, plain } from "./tfjs-ops.js";

export class TfjsRunner {
  private constructor(
    private readonly graph: Graph,
    private readonly base: ReadonlyMap<string, V>,
    private readonly steps: readonly { readonly node: Node; readonly exec: Exec }[],
  ) {}

  static async create(bytes: Uint8Array, feeds: Readonly<Record<string, Tensor>>): Promise<TfjsRunner> {
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs's wasm backend did not start");
    const model = importOnnx(bytes);
    const g = model.graph;
    const missing = [...new Set(g.nodes.map((n) => n.op).filter((op) => !Object.hasOwn(OPS, op)))];
    if (missing.length) throw new NotApplicable(`no tfjs translation for ${missing.join(", ")}`);
    const values = new Map<string, V>([...g.initializers].map(([k, t]) => [k, plain(hostToTf(t))]));
    const fusedRelus = reluFusions(g);
    const steps: { node: Node; exec: Exec }[] = [];
    for (const node of g.nodes) {
      const relu = fusedRelus.has(node);
      const exec = relu && node.op === "Relu" ? aliasExec : at(node, () => OPS[node.op]!({
        node, opset: model.opsets[""] ?? 1, relu,
        constant: (i) => (node.inputs[i] ? values.get(node.inputs[i]!)?.t : undefined),
      }));
      if (node.inputs.every((i) => i === "" || values.has(i))) {
        // Constant folding: the outputs join the model's constants.
        const outs = at(node, () => exec(node.inputs.map((i) => (i === "" ? undefined : values.get(i)))));
        node.outputs.forEach((o, k) => { if (o !== "") values.set(o, plain(nchw(outs[k]!))); });
      } else steps.push({ node, exec });
    }
    for (const [name, t] of Object.entries(feeds)) values.set(name, plain(hostToTf(t)));
    return new TfjsRunner(g, values, steps);
  }

  async run(): Promise<Record<string, Tensor>> {
    const outs = tf.tidy(() => {
      const env = new Map(this.base);
      for (const { node, exec } of this.steps) {
        const ys = at(node, () => exec(node.inputs.map((i) => (i === "" ? undefined : env.get(i)!))));
        node.outputs.forEach((o, k) => { if (o !== "") env.set(o, ys[k]!); });
      }
      return this.graph.outputs.map((o) => nchw(env.get(o.name)!));
    });
    const result: Record<string, Tensor> = {};
    for (const [i, o] of this.graph.outputs.entries()) {
      const t = outs[i]!;
      const data = await t.data();
      result[o.name] = o.type.dtype === "float32" ? new Tensor("float32", t.shape, data as Float32Array) : Tensor.fromNumbers(o.type.dtype, t.shape, data as ArrayLike<number>);
      t.dispose();
    }
    return result;
  }
}

/** Errors name the node they come from. */
function at<T>(node: Node, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NotApplicable) throw e;
    throw new Error(`${describeNode(node)}: ${(e as Error).message}`);
  }
}

/** A fused Relu passes on its producer's output, which already had the Relu applied. */
const aliasExec: Exec = ([x]) => [x!];

/**
 * Conv and Gemm nodes whose only use is a Relu, and those Relus: tfjs's fused kernels apply the
 * activation in place (as tfjs-converter's fused ops do). Graph outputs are never fused away.
 */
function reluFusions(g: Graph): Set<Node> {
  const uses = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) uses.set(i, [...(uses.get(i) ?? []), n]);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const fused = new Set<Node>();
  for (const n of g.nodes) {
    if (n.op !== "Conv" && n.op !== "Gemm") continue;
    const y = n.outputs[0]!, u = uses.get(y);
    if (u?.length === 1 && u[0]!.op === "Relu" && !outputs.has(y)) fused.add(n).add(u[0]!);
  }
  return fused;
}
