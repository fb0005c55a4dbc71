/**
 * ONNX ModelProto -> kiln Model. Decoding is onnx-proto's (protobufjs); this file maps the
 * messages onto the graph IR: opsets, initializers, typed value infos with symbolic dims,
 * attributes (including subgraphs), Constant nodes, and model-local functions, which are
 * inlined at their call sites. The node order is made topological; a cycle or a dangling
 * reference is a ModelError naming the node.
 */
import { dtypeFromOnnx } from "../../ir/dtype.js";
import { LimitError, ModelError, UnsupportedError } from "../../ir/errors.js";
import { describeNode, type Attr, type Graph, type Model, type Node, type ValueInfo } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import type { Dim, TensorType } from "../../ir/types.js";
import { verifyGraph } from "../../ir/verify.js";
import { findOp } from "../../ops/index.js";
import { longToNumber, onnx, type OnnxTypes } from "./proto.js";
import { tensorFromProto, type TensorLimits } from "./tensor.js";

export type ImportOptions = TensorLimits;

const AT = onnx.AttributeProto.AttributeType;

/** How deep subgraphs (If/Loop/Scan bodies) and model-local function calls may nest. */
const MAX_NESTING = 64;

/** The newest default-domain opset whose semantics the ops follow. */
export const LATEST_ONNX_OPSET = 28;

export function decodeModelProto(bytes: Uint8Array): OnnxTypes.ModelProto {
  if (bytes.length === 0) throw new ModelError("not an ONNX model: the file is empty");
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelError(`not an ONNX model: protobuf decoding failed (${(e as Error).message})`);
  }
}

export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): Model {
  const proto = decodeModelProto(bytes);
  if (!proto.graph) throw new ModelError("not an ONNX model: it has no graph");
  const opsets: Record<string, number> = {};
  for (const o of proto.opsetImport ?? []) {
    const domain = normDomain(o.domain ?? "");
    const version = longToNumber(o.version);
    const what = `opset import of domain "${domain || "ai.onnx"}"`;
    if (!Number.isSafeInteger(version) || version < 1) throw new ModelError(`${what} has an invalid version ${version}`);
    if (domain === "" && version > LATEST_ONNX_OPSET) {
      throw new UnsupportedError(`${what} has version ${version}, newer than the latest kiln knows (${LATEST_ONNX_OPSET})`, `opset ${version}`);
    }
    opsets[domain] = version;
  }
  if (opsets[""] === undefined && (proto.opsetImport ?? []).length === 0) {
    throw new ModelError("not an ONNX model: it imports no opset");
  }
  const functions = new Map<string, OnnxTypes.IFunctionProto>();
  for (const f of proto.functions ?? []) functions.set(`${normDomain(f.domain ?? "")}:${f.name}`, f);
  const importer = new Importer(options, functions);
  const graph = importer.graph(proto.graph, new Set());
  verifyGraph(graph);
  return { graph, opsets };
}

function normDomain(d: string): string {
  return d === "ai.onnx" ? "" : d;
}

/** Symbols in the IR must be identifiers; model text never reaches the IR verbatim otherwise. */
function symbolName(param: string): string {
  const s = param.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[A-Za-z_]/.test(s) ? s : `s_${s}`;
}

class Importer {
  private unknownDims = 0;
  private inlined = 0;
  private depth = 0;
  /** Functions being inlined, outermost first. */
  private readonly calling: string[] = [];

  constructor(
    private readonly limits: TensorLimits,
    private readonly functions: ReadonlyMap<string, OnnxTypes.IFunctionProto>,
  ) {}

  graph(g: OnnxTypes.IGraphProto, outer: ReadonlySet<string>): Graph {
    return this.nested(`graph "${g.name ?? ""}"`, () => this.graphBody(g, outer));
  }

  /** Subgraphs and function calls recurse here and in every later stage: bound the depth, not the stack. */
  private nested<T>(what: string, f: () => T): T {
    if (this.depth >= MAX_NESTING) throw new LimitError(`${what}: subgraphs and function calls nest more than ${MAX_NESTING} deep`);
    this.depth++;
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private graphBody(g: OnnxTypes.IGraphProto, outer: ReadonlySet<string>): Graph {
    const gname = g.name ?? "";
    const initializers = new Map<string, Tensor>();
    for (const t of g.initializer ?? []) {
      if (!t.name) throw new ModelError(`graph "${gname}": an initializer has no name`);
      if (initializers.has(t.name)) throw new ModelError(`graph "${gname}": initializer "${t.name}" is given twice`);
      initializers.set(t.name, tensorFromProto(t, this.limits));
    }
    if ((g.sparseInitializer ?? []).length > 0) {
      throw new UnsupportedError(`graph "${gname}": sparse initializers are not supported`, "sparse tensors");
    }
    // An input that also has an initializer (a default a caller could override) becomes a constant.
    const inputs = (g.input ?? []).filter((v) => !initializers.has(v.name ?? "")).map((v) => this.valueInfo(v, gname, true));
    const outputs = (g.output ?? []).map((v) => this.valueInfo(v, gname, true));
    // Types the model gives for intermediate values (node outputs); inference refines them.
    const produced = new Set((g.node ?? []).flatMap((n) => n.output ?? []));
    const valueTypes = new Map<string, TensorType>();
    for (const v of g.valueInfo ?? []) {
      if (v.type?.tensorType && produced.has(v.name ?? "")) valueTypes.set(v.name ?? "", this.valueInfo(v, gname, false).type);
    }
    const defined = new Set<string>([...inputs.map((v) => v.name), ...initializers.keys()]);
    // Subgraphs may read any value of this graph, even one a later node defines (unsorted models).
    const scope = new Set([...outer, ...defined, ...(g.node ?? []).flatMap((n) => n.output ?? [])]);
    const nodes = (g.node ?? []).flatMap((n) => this.node(n, scope, new Map()));
    return { name: gname, inputs, outputs, initializers, valueTypes, nodes: topoSort(nodes, gname, defined, scope) };
  }

  private valueInfo(v: OnnxTypes.IValueInfoProto, gname: string, required: boolean): ValueInfo {
    const name = v.name ?? "";
    const t = v.type;
    const what = `graph "${gname}": value "${name}"`;
    if (t?.sequenceType) throw new UnsupportedError(`${what} is a sequence; sequences are not supported`, "sequence values");
    if (t?.mapType) throw new UnsupportedError(`${what} is a map; maps are not supported`, "map values");
    if (t?.optionalType) throw new UnsupportedError(`${what} is optional; optional values are not supported`, "optional values");
    if (t?.sparseTensorType) throw new UnsupportedError(`${what} is a sparse tensor; sparse tensors are not supported`, "sparse tensors");
    const tt = t?.tensorType;
    if (!tt || !tt.elemType) {
      if (required && gname !== "" && t === undefined) {
        // Subgraph inputs may leave their type to inference; the op supplies it.
        return { name, type: { dtype: "float32", shape: null } };
      }
      if (!tt) return { name, type: { dtype: "float32", shape: null } };
    }
    const dtype = dtypeFromOnnx(tt!.elemType ?? 0, what);
    const shape: Dim[] | null = tt!.shape
      ? (tt!.shape.dim ?? []).map((d): Dim => {
        // protobufjs exposes which member of the `value` oneof is set.
        const which = (d as { value?: string }).value;
        if (which === "dimValue") {
          const v = longToNumber(d.dimValue);
          if (!Number.isSafeInteger(v) || v < 0) throw new ModelError(`${what} has an invalid dimension ${v}`);
          return v;
        }
        if (which === "dimParam" && d.dimParam) return symbolName(d.dimParam);
        return `_unk${this.unknownDims++}`;
      })
      : null;
    return { name, type: { dtype, shape } };
  }

  /** One NodeProto -> IR nodes (more than one when it calls a model-local function). */
  private node(n: OnnxTypes.INodeProto, scope: ReadonlySet<string>, rename: ReadonlyMap<string, string>,
    callerAttrs?: ReadonlyMap<string, OnnxTypes.IAttributeProto>): Node[] {
    const domain = normDomain(n.domain ?? "");
    const opType = n.opType ?? "";
    const op = domain === "" ? opType : `${domain}:${opType}`;
    const name = n.name ?? "";
    const r = (v: string) => (v === "" ? "" : rename.get(v) ?? v);
    const inputs = (n.input ?? []).map(r);
    const outputs = (n.output ?? []).map(r);
    const who = describeNode({ op: op || "?", name, inputs, outputs, attrs: {} });
    if (opType === "") throw new ModelError(`${who}: the node has no op_type`);
    // kiln's internal ops (layouts, fused groups) are made by its passes, which verify what they
    // build; taken from a file their unchecked attributes would read or write other memory.
    if (domain === "kiln" || op.startsWith("kiln:")) throw new ModelError(`${who}: op ${op} is internal to kiln and cannot appear in a model`);
    const fn = this.functions.get(`${domain}:${opType}`);
    if (fn && !findOp(op)) return this.inlineFunction(fn, n, inputs, outputs, scope, callerAttrs);
    const def = findOp(op);
    if (!def) throw new UnsupportedError(`${who}: op ${op} is not supported`, `op ${op}`);
    const attrs: Record<string, Attr> = {};
    for (const a of n.attribute ?? []) {
      const resolved = a.refAttrName ? callerAttrs?.get(a.refAttrName) : a;
      if (!resolved) continue; // a function attribute the caller did not set: the op's default applies
      const attrName = a.name ?? "";
      // Own properties only: an attribute named "constructor" or "__proto__" is just unknown.
      if (Object.hasOwn(attrs, attrName)) throw new ModelError(`${who}: attribute '${attrName}' is given twice`);
      if (!Object.hasOwn(def.attrs, attrName)) throw new ModelError(`${who}: unknown attribute '${attrName}'`);
      attrs[attrName] = this.attr(resolved, scope, op);
    }
    return [{ op, name, inputs, outputs, attrs }];
  }

  private inlineFunction(fn: OnnxTypes.IFunctionProto, call: OnnxTypes.INodeProto, inputs: string[], outputs: string[],
    scope: ReadonlySet<string>, outerAttrs?: ReadonlyMap<string, OnnxTypes.IAttributeProto>): Node[] {
    const key = `${normDomain(fn.domain ?? "")}:${fn.name}`;
    if (this.calling.includes(key)) throw new ModelError(`function ${key} calls itself (${[...this.calling, key].join(" -> ")})`);
    if (this.inlined++ > 10_000) throw new LimitError(`function ${key}: more than 10000 function calls to inline`);
    const prefix = `${fn.name}__${this.inlined}__`;
    const rename = new Map<string, string>();
    (fn.input ?? []).forEach((v, i) => rename.set(v, inputs[i] ?? ""));
    (fn.output ?? []).forEach((v, i) => rename.set(v, outputs[i] ?? ""));
    for (const node of fn.node ?? []) {
      for (const o of node.output ?? []) if (o !== "" && !rename.has(o)) rename.set(o, prefix + o);
    }
    const attrs = new Map<string, OnnxTypes.IAttributeProto>();
    for (const a of call.attribute ?? []) {
      const resolved = a.refAttrName ? outerAttrs?.get(a.refAttrName) : a;
      if (resolved) attrs.set(a.name ?? "", resolved);
    }
    this.calling.push(key);
    try {
      return this.nested(`function ${key}`, () => (fn.node ?? []).flatMap((node) => this.node(node, scope, rename, attrs)));
    } finally {
      this.calling.pop();
    }
  }

  private attr(a: OnnxTypes.IAttributeProto, scope: ReadonlySet<string>, op: string): Attr {
    const type = a.type || guessAttrType(a);
    const str = (b: Uint8Array) => new TextDecoder().decode(b);
    const where = `${op}: attribute '${a.name}'`;
    switch (type) {
      case AT.FLOAT: return { type: "float", value: a.f ?? 0 };
      case AT.INT: return { type: "int", value: longToNumber(a.i) };
      case AT.STRING: return { type: "string", value: str(a.s ?? new Uint8Array()) };
      case AT.TENSOR: return { type: "tensor", value: tensorFromProto(a.t ?? {}, this.limits, where) };
      case AT.GRAPH: return { type: "graph", value: this.graph(a.g ?? {}, scope) };
      case AT.FLOATS: return { type: "floats", value: [...(a.floats ?? [])] };
      case AT.INTS: return { type: "ints", value: (a.ints ?? []).map(longToNumber) };
      case AT.STRINGS: return { type: "strings", value: (a.strings ?? []).map(str) };
      case AT.TENSORS: return { type: "tensors", value: (a.tensors ?? []).map((t) => tensorFromProto(t, this.limits, where)) };
      case AT.GRAPHS: return { type: "graphs", value: (a.graphs ?? []).map((g) => this.graph(g, scope)) };
      default:
        throw new UnsupportedError(`${where} has type ${AT[type] ?? type}, which kiln does not support`, `attribute type ${AT[type] ?? type}`);
    }
  }
}

/** Old models leave AttributeProto.type unset; the populated field tells. */
function guessAttrType(a: OnnxTypes.IAttributeProto): number {
  if (a.g) return AT.GRAPH;
  if (a.t) return AT.TENSOR;
  if ((a.graphs ?? []).length) return AT.GRAPHS;
  if ((a.tensors ?? []).length) return AT.TENSORS;
  if ((a.floats ?? []).length) return AT.FLOATS;
  if ((a.ints ?? []).length) return AT.INTS;
  if ((a.strings ?? []).length) return AT.STRINGS;
  if (a.s && a.s.length) return AT.STRING;
  if (a.f) return AT.FLOAT;
  return AT.INT;
}

/**
 * Order nodes so every value is defined before use. Already-sorted graphs keep their order;
 * otherwise a topological order is computed, and a cycle or an undefined input is reported by node.
 */
function topoSort(nodes: readonly Node[], gname: string, own: ReadonlySet<string>, available: ReadonlySet<string>): Node[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => {
    if (o === "") return;
    if (producer.has(o) || own.has(o)) {
      throw new ModelError(`graph "${gname}": value "${o}" is defined more than once (again by ${describeNode(n, i)})`);
    }
    producer.set(o, i);
  }));
  const deps = nodes.map((n, i) => {
    const d = new Set<number>();
    const reads = [...n.inputs, ...implicitInputs(n)];
    for (const v of reads) {
      if (v === "") continue;
      const p = producer.get(v);
      if (p !== undefined) d.add(p);
      else if (!available.has(v)) throw new ModelError(`graph "${gname}": ${describeNode(n, i)} reads "${v}", which is never defined`);
    }
    return d;
  });
  if (deps.every((d, i) => [...d].every((p) => p < i))) return [...nodes];
  // Kahn's algorithm with in-degree counts: linear, as big unsorted graphs need.
  const users = nodes.map((): number[] => []);
  const pending = deps.map((d, i) => {
    for (const p of d) users[p]!.push(i);
    return d.size;
  });
  const ready = nodes.map((_, i) => i).filter((i) => pending[i] === 0);
  const order: Node[] = [];
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k]!;
    order.push(nodes[i]!);
    for (const u of users[i]!) if (--pending[u]! === 0) ready.push(u);
  }
  const done = new Set(ready);
  if (order.length < nodes.length) {
    const stuck = nodes.map((n, i) => [n, i] as const).filter(([, i]) => !done.has(i)).map(([n, i]) => describeNode(n, i));
    throw new ModelError(`graph "${gname}" has a cycle through ${stuck.slice(0, 5).join(", ")}${stuck.length > 5 ? ", ..." : ""}`);
  }
  return order;
}

/** Values a node's subgraphs read from the enclosing scope (they order the node too). */
function implicitInputs(n: Node): string[] {
  const out: string[] = [];
  for (const a of Object.values(n.attrs)) {
    const gs = a.type === "graph" ? [a.value] : a.type === "graphs" ? a.value : [];
    for (const g of gs) out.push(...freeVariables(g));
  }
  return out;
}

function freeVariables(g: Graph): string[] {
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  const free: string[] = [];
  for (const n of g.nodes) {
    for (const v of [...n.inputs, ...implicitInputs(n)]) if (v !== "" && !defined.has(v)) free.push(v);
    for (const o of n.outputs) defined.add(o);
  }
  for (const v of g.outputs) if (!defined.has(v.name)) free.push(v.name);
  return free;
}
