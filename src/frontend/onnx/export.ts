/** kiln Model -> ONNX bytes, so models built in TypeScript can be run by other runtimes. */
import { dtypeToOnnx } from "../../ir/dtype.js";
import { opDomain, type Attr, type Graph, type Model, type Node } from "../../ir/graph.js";
import type { TensorType } from "../../ir/types.js";
import { onnx, type OnnxTypes } from "./proto.js";
import { tensorToProto } from "./tensor.js";

const AT = onnx.AttributeProto.AttributeType;
/** ONNX IR version 8 (ONNX 1.10+): opsets up to 17 and beyond read it. */
const IR_VERSION = 8;

export function exportOnnx(model: Model, producer = "kiln"): Uint8Array {
  const proto: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    producerName: producer,
    opsetImport: Object.entries(model.opsets).map(([domain, version]) => ({ domain, version })),
    graph: graphToProto(model.graph),
  };
  return onnx.ModelProto.encode(proto).finish();
}

function graphToProto(g: Graph): OnnxTypes.IGraphProto {
  const produced = new Set(g.nodes.flatMap((n) => n.outputs));
  return {
    name: g.name,
    input: g.inputs.map((v) => valueInfo(v.name, v.type)),
    output: g.outputs.map((v) => valueInfo(v.name, v.type)),
    initializer: [...g.initializers].map(([name, t]) => tensorToProto(t, name)),
    node: g.nodes.map(nodeToProto),
    valueInfo: [...g.valueTypes].filter(([name]) => produced.has(name) && !g.outputs.some((v) => v.name === name))
      .map(([name, t]) => valueInfo(name, t)),
  };
}

function valueInfo(name: string, t: TensorType): OnnxTypes.IValueInfoProto {
  const tensorType: OnnxTypes.TypeProto.ITensor = { elemType: dtypeToOnnx(t.dtype) };
  if (t.shape !== null) {
    // Unknown dims (fresh `_` symbols of inference) are left without value or name.
    tensorType.shape = { dim: t.shape.map((d) => (typeof d === "number" ? { dimValue: d } : d.startsWith("_") ? {} : { dimParam: d })) };
  }
  return { name, type: { tensorType } };
}

function nodeToProto(n: Node): OnnxTypes.INodeProto {
  const domain = opDomain(n.op);
  return {
    name: n.name,
    opType: domain === "" ? n.op : n.op.slice(domain.length + 1),
    domain,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attrs).map(([name, a]) => attrToProto(name, a)),
  };
}

function attrToProto(name: string, a: Attr): OnnxTypes.IAttributeProto {
  const enc = (s: string) => new TextEncoder().encode(s);
  switch (a.type) {
    case "int": return { name, type: AT.INT, i: a.value };
    case "float": return { name, type: AT.FLOAT, f: a.value };
    case "string": return { name, type: AT.STRING, s: enc(a.value) };
    case "tensor": return { name, type: AT.TENSOR, t: tensorToProto(a.value) };
    case "graph": return { name, type: AT.GRAPH, g: graphToProto(a.value) };
    case "ints": return { name, type: AT.INTS, ints: [...a.value] };
    case "floats": return { name, type: AT.FLOATS, floats: [...a.value] };
    case "strings": return { name, type: AT.STRINGS, strings: a.value.map(enc) };
    case "tensors": return { name, type: AT.TENSORS, tensors: a.value.map((t) => tensorToProto(t)) };
    case "graphs": return { name, type: AT.GRAPHS, graphs: a.value.map(graphToProto) };
  }
}
