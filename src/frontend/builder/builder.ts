/**
 * A small TypeScript API to build graphs: used by the built-in model zoo and by tests.
 *
 *   const b = new GraphBuilder("mlp", { "": 17 });
 *   const x = b.input("x", "float32", ["N", 784]);
 *   const h = b.node("Relu", [b.node("Gemm", [x, b.weight("w", t)], { transB: 1 })]);
 *   b.output(h);
 *   const model = b.build();
 */
import type { DType } from "../../ir/dtype.js";
import type { Attr, Model, Node, ValueInfo } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import type { Dim } from "../../ir/types.js";
import { verifyGraph } from "../../ir/verify.js";

export type AttrInput = number | string | readonly number[] | readonly string[] | Tensor | Attr;

export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers = new Map<string, Tensor>();
  private readonly nodes: Node[] = [];
  private counter = 0;

  constructor(
    private readonly name: string,
    private readonly opsets: Readonly<Record<string, number>> = { "": 21 },
  ) {}

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push({ name, type: { dtype, shape } });
    return name;
  }

  weight(name: string, value: Tensor): string {
    this.initializers.set(name, value);
    return name;
  }

  /** Add a node with one output; returns the output's name. */
  node(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}): string {
    return this.nodeN(op, inputs, 1, attrs)[0]!;
  }

  /** Add a node with `outputs` outputs; returns their names. */
  nodeN(op: string, inputs: readonly string[], outputs: number, attrs: Readonly<Record<string, AttrInput>> = {}): string[] {
    const id = this.counter++;
    const outs = Array.from({ length: outputs }, (_, i) => `${op.toLowerCase()}${id}${outputs > 1 ? `_${i}` : ""}`);
    const converted: Record<string, Attr> = {};
    for (const [k, v] of Object.entries(attrs)) converted[k] = toAttr(v);
    this.nodes.push({ op, name: `${op.toLowerCase()}${id}`, inputs: [...inputs], outputs: outs, attrs: converted });
    return outs;
  }

  /** Mark a value as a graph output, renamed to `name` if given (so it is `logits`, not `matmul42`); its type is left to inference. */
  output(value: string, dtype: DType = "float32", name = value): void {
    if (name !== value) this.rename(value, name);
    this.outputs.push({ name, type: { dtype, shape: null } });
  }

  /** Give a node's output another name, in the node and in every node and output that reads it. */
  private rename(from: string, to: string): void {
    const producer = this.nodes.find((n) => n.outputs.includes(from));
    if (!producer) throw new Error(`GraphBuilder: only a node's output can be renamed, not '${from}'`);
    const swap = (v: string) => (v === from ? to : v);
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      if (n === producer || n.inputs.includes(from)) this.nodes[i] = { ...n, inputs: n.inputs.map(swap), outputs: n.outputs.map(swap) };
    }
    for (let i = 0; i < this.outputs.length; i++) this.outputs[i] = { ...this.outputs[i]!, name: swap(this.outputs[i]!.name) };
  }

  build(): Model {
    const graph = {
      name: this.name, inputs: this.inputs, outputs: this.outputs, initializers: this.initializers,
      nodes: this.nodes, valueTypes: new Map(),
    };
    verifyGraph(graph);
    return { graph, opsets: this.opsets };
  }
}

function toAttr(v: AttrInput): Attr {
  if (typeof v === "number") return Number.isInteger(v) ? { type: "int", value: v } : { type: "float", value: v };
  if (typeof v === "string") return { type: "string", value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string")) return { type: "strings", value: v as string[] };
    return (v as number[]).every(Number.isInteger) ? { type: "ints", value: v as number[] } : { type: "floats", value: v as number[] };
  }
  if ("type" in (v as object) && "value" in (v as object)) return v as Attr;
  return { type: "tensor", value: v as Tensor };
}
