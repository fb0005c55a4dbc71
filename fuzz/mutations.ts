/**
 * Mutations of ONNX models for fuzzing: byte-level (flip, truncate, duplicate, splice) and
 * structured ones on the decoded ModelProto (dims, dtypes, attributes, op types, names, huge and
 * negative sizes, cycles, duplicates, wrong declared shapes, kiln-domain ops). Every mutation is
 * a pure function of the model and a seed, so a case is reproducible from its description.
 */
import { dtypeToOnnx, DTYPES } from "../src/ir/dtype.js";
import { rng } from "../src/ir/random.js";
import { shapeSize, type Tensor } from "../src/ir/tensor.js";
import { onnx, type OnnxTypes } from "../src/frontend/onnx/proto.js";
import { encodeTensor } from "../src/frontend/onnx/tensor.js";
import { allOps } from "../src/ops/registry.js";

/** A seed model and the inputs it runs with. */
export interface Sample {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly inputs: Tensor[];
}

const AT = onnx.AttributeProto.AttributeType;
const OP_NAMES = allOps().map((d) => d.name).filter((n) => !n.includes(":")).sort();
export const ABSURD_INTS = [-1, -7, 0, 1000, -1000, 4096, 30000, 2 ** 31, 2 ** 40, -(2 ** 40), 2 ** 53];
export const ABSURD_FLOATS = [NaN, Infinity, -Infinity, -1e30, 1e30, 0];

export type Rand = () => number;
type ModelProto = OnnxTypes.ModelProto;
type GraphProto = OnnxTypes.IGraphProto;

export const int = (r: Rand, n: number) => Math.floor(r() * n);
export function pick<T>(r: Rand, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[int(r, xs.length)];
}

// ---- byte-level mutations ----

export function flipBytes(b: Uint8Array, r: Rand): [string, Uint8Array] {
  const out = b.slice();
  const k = 1 + int(r, 16);
  for (let i = 0; i < k; i++) out[int(r, out.length)] ^= 1 + int(r, 255);
  return [`flip ${k} bytes`, out];
}

export function truncate(b: Uint8Array, r: Rand): [string, Uint8Array] {
  const at = int(r, b.length);
  return [`truncate to ${at} bytes`, b.slice(0, at)];
}

export function duplicateChunk(b: Uint8Array, r: Rand): [string, Uint8Array] {
  const from = int(r, b.length);
  const len = 1 + int(r, Math.min(64, b.length - from));
  const at = int(r, b.length);
  const chunk = b.slice(from, from + len);
  const out = new Uint8Array(b.length + len);
  out.set(b.subarray(0, at));
  out.set(chunk, at);
  out.set(b.subarray(at), at + len);
  return [`duplicate ${len} bytes from ${from} at ${at}`, out];
}

export function splice(b: Uint8Array, other: Sample, r: Rand): [string, Uint8Array] {
  const o = other.bytes;
  const from = int(r, o.length);
  const len = 1 + int(r, Math.min(128, o.length - from));
  const at = int(r, b.length);
  const out = new Uint8Array(at + len + Math.max(0, b.length - at - len));
  out.set(b.subarray(0, at));
  out.set(o.subarray(from, from + len), at);
  if (at + len < b.length) out.set(b.subarray(at + len), at + len);
  return [`splice ${len} bytes of ${other.name} at ${at}`, out];
}

// ---- structured mutations (on a decoded ModelProto; each returns a description, or null if it does not apply) ----

/** The main graph and every subgraph, so that If branches are mutated too. */
function graphsOf(g: GraphProto): GraphProto[] {
  const out = [g];
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.g) out.push(...graphsOf(a.g));
      for (const s of a.graphs ?? []) out.push(...graphsOf(s));
    }
  }
  return out;
}

const allNodes = (m: ModelProto) => graphsOf(m.graph!).flatMap((g) => g.node ?? []);
const allAttrs = (m: ModelProto) => allNodes(m).flatMap((n) => (n.attribute ?? []).map((a) => ({ n, a })));

/** Initializers and Constant-node tensors: the tensors stored in the model. */
function allTensors(m: ModelProto): OnnxTypes.ITensorProto[] {
  const out: OnnxTypes.ITensorProto[] = [];
  for (const g of graphsOf(m.graph!)) out.push(...(g.initializer ?? []));
  for (const { a } of allAttrs(m)) if (a.t) out.push(a.t);
  return out;
}

const graphInputs = (m: ModelProto) => graphsOf(m.graph!).flatMap((g) => g.input ?? []);

function setDim(v: OnnxTypes.IValueInfoProto, r: Rand, value: number): string | null {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims || dims.length === 0) return null;
  const i = int(r, dims.length);
  dims[i] = onnx.TensorShapeProto.Dimension.create({ dimValue: value });
  return `input ${JSON.stringify(v.name)} dim ${i} = ${value}`;
}

/** Turn the graph inputs into initializers holding the test's inputs, so inference folds them. */
function freezeInputs(m: ModelProto, sample: Sample): void {
  const g = m.graph!;
  const inputs = (g.input ?? []).filter((v) => !(g.initializer ?? []).some((t) => t.name === v.name));
  inputs.forEach((v, i) => {
    const t = sample.inputs[i];
    if (t) g.initializer = [...(g.initializer ?? []), onnx.TensorProto.decode(encodeTensor(t, v.name ?? ""))];
  });
}

/** A stored tensor to mutate; when the model stores none, its inputs are frozen into initializers first. */
function someTensor(m: ModelProto, r: Rand, sample: Sample, want = (_: OnnxTypes.ITensorProto) => true): OnnxTypes.ITensorProto | undefined {
  if (!allTensors(m).some(want) || r() < 0.3) freezeInputs(m, sample);
  return pick(r, allTensors(m).filter(want));
}

type Structured = (m: ModelProto, r: Rand, sample: Sample) => string | null;

export const STRUCTURED: Record<string, Structured> = {
  freezeInputs(m, _r, sample) {
    if ((m.graph!.input ?? []).length === 0) return null;
    freezeInputs(m, sample);
    return "inputs frozen into initializers";
  },
  tensorDimHuge(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    const v = pick(r, [2 ** 40, 2 ** 31, 2 ** 26, 2 ** 53 + 2])!;
    if ((t.dims ?? []).length === 0) t.dims = [v];
    else t.dims![int(r, t.dims!.length)] = v;
    return `tensor ${JSON.stringify(t.name)} dim = ${v}`;
  },
  tensorDimNegative(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dims = [...(t.dims ?? []), 1];
    t.dims[int(r, t.dims.length)] = -1 - int(r, 5);
    return `tensor ${JSON.stringify(t.name)} gets a negative dim`;
  },
  tensorExtraDim(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dims = [...(t.dims ?? []), 2 + int(r, 3)];
    return `tensor ${JSON.stringify(t.name)} gets an extra dim`;
  },
  rawDataWrongLength(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    const len = (t.rawData?.length ?? 4) + pick(r, [-3, -1, 1, 5, 17])!;
    t.rawData = new Uint8Array(Math.max(1, len)).map(() => int(r, 256));
    t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = []; t.uint64Data = [];
    return `tensor ${JSON.stringify(t.name)} raw_data of ${Math.max(1, len)} bytes`;
  },
  tensorDataTypeBad(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dataType = pick(r, [99, 0, 8, 16, 17, -1, 1000])!;
    return `tensor ${JSON.stringify(t.name)} data_type ${t.dataType}`;
  },
  tensorDataTypeSwap(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dataType = dtypeToOnnx(pick(r, DTYPES)!);
    return `tensor ${JSON.stringify(t.name)} data_type ${t.dataType}`;
  },
  tensorValuesAbsurd(m, r, sample) {
    // Shapes, repeats, axes, indices, k, depth...: integer tensors with absurd values.
    const t = someTensor(m, r, sample, (x) => x.dataType === 7 || x.dataType === 6);
    if (!t) return null;
    const n = shapeSize((t.dims ?? []).map(Number));
    if (n === 0 || n > 1024) return null;
    const view = (t.dataType === 7 ? 8 : 4);
    const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : null;
    const v = pick(r, ABSURD_INTS)!;
    const i = int(r, n);
    if (raw) {
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      if (view === 8) dv.setBigInt64(i * 8, BigInt(v), true);
      else dv.setInt32(i * 4, v | 0, true);
      t.rawData = raw;
    } else if (t.dataType === 7 && (t.int64Data ?? []).length === n) {
      t.int64Data![i] = v;
    } else if ((t.int32Data ?? []).length === n) {
      t.int32Data![i] = v | 0;
    } else return null;
    return `tensor ${JSON.stringify(t.name)} element ${i} = ${v}`;
  },
  tensorValuesNaN(m, r, sample) {
    const t = someTensor(m, r, sample, (x) => x.dataType === 1 && (x.rawData?.length ?? 0) > 0);
    if (!t) return null;
    const raw = new Uint8Array(t.rawData!);
    const i = int(r, raw.length >> 2);
    new DataView(raw.buffer).setFloat32(i * 4, pick(r, ABSURD_FLOATS)!, true);
    t.rawData = raw;
    return `tensor ${JSON.stringify(t.name)} element ${i} non-finite`;
  },
  inputDimHuge(m, r) {
    const v = pick(r, graphInputs(m));
    return v ? setDim(v, r, pick(r, [2 ** 40, 2 ** 31, 2 ** 25])!) : null;
  },
  inputDimNegative(m, r) {
    const v = pick(r, graphInputs(m));
    return v ? setDim(v, r, -1 - int(r, 3)) : null;
  },
  inputDimZero(m, r) {
    const v = pick(r, graphInputs(m));
    return v ? setDim(v, r, 0) : null;
  },
  inputShapeErased(m, r) {
    const v = pick(r, graphInputs(m));
    if (!v?.type?.tensorType) return null;
    v.type.tensorType.shape = null;
    return `input ${JSON.stringify(v.name)} has no shape`;
  },
  inputElemTypeBad(m, r) {
    const v = pick(r, [...graphInputs(m), ...(m.graph!.output ?? [])]);
    if (!v?.type?.tensorType) return null;
    v.type.tensorType.elemType = pick(r, [99, 8, 16, -5])!;
    return `value ${JSON.stringify(v.name)} elem_type ${v.type.tensorType.elemType}`;
  },
  inputElemTypeSwap(m, r) {
    const v = pick(r, graphInputs(m));
    if (!v?.type?.tensorType) return null;
    v.type.tensorType.elemType = dtypeToOnnx(pick(r, DTYPES)!);
    return `input ${JSON.stringify(v.name)} elem_type ${v.type.tensorType.elemType}`;
  },
  inputKindChanged(m, r) {
    const v = pick(r, graphInputs(m));
    if (!v) return null;
    v.type = pick(r, [
      { sequenceType: { elemType: { tensorType: { elemType: 1 } } } },
      {},
      { tensorType: {} },
      { tensorType: { elemType: 1, shape: { dim: [{}, { dimParam: "" }, { dimParam: "9 bad name!" }] } } },
    ])!;
    return `input ${JSON.stringify(v.name)} type changed`;
  },
  renameInput(m, r) {
    const n = pick(r, allNodes(m).filter((x) => (x.input ?? []).length > 0));
    if (!n) return null;
    const i = int(r, n.input!.length);
    n.input![i] = "no_such_value";
    return `${n.opType} input ${i} renamed to an undefined name`;
  },
  renameGraphOutput(m, r) {
    const v = pick(r, m.graph!.output ?? []);
    if (!v) return null;
    v.name = pick(r, ["no_such_value", ""])!;
    return "graph output renamed";
  },
  selfLoop(m, r) {
    const n = pick(r, allNodes(m).filter((x) => (x.input ?? []).length > 0 && (x.output ?? []).length > 0));
    if (!n) return null;
    n.input![int(r, n.input!.length)] = n.output![0]!;
    return `${n.opType} consumes its own output`;
  },
  twoNodeCycle(m, r) {
    const nodes = m.graph!.node ?? [];
    if (nodes.length < 2) return null;
    const a = nodes[0]!, b = nodes[nodes.length - 1]!;
    if ((a.input ?? []).length === 0 || (b.input ?? []).length === 0) return null;
    a.input![int(r, a.input!.length)] = b.output![0]!;
    b.input![int(r, b.input!.length)] = a.output![0]!;
    return `${a.opType} and ${b.opType} form a cycle`;
  },
  removeNode(m, r) {
    const g = pick(r, graphsOf(m.graph!).filter((x) => (x.node ?? []).length > 0));
    if (!g) return null;
    const i = int(r, g.node!.length);
    const [n] = g.node!.splice(i, 1);
    return `removed ${n!.opType} node ${i}`;
  },
  duplicateTensor(m, r, sample) {
    const t = someTensor(m, r, sample, (x) => (m.graph!.initializer ?? []).includes(x));
    if (!t) return null;
    m.graph!.initializer!.push(onnx.TensorProto.create({ ...t, dims: [1], rawData: new Uint8Array(8), dataType: 11 }));
    return `initializer ${JSON.stringify(t.name)} given twice`;
  },
  duplicateNode(m, r) {
    const g = pick(r, graphsOf(m.graph!).filter((x) => (x.node ?? []).length > 0));
    if (!g) return null;
    const n = pick(r, g.node!)!;
    g.node!.push(onnx.NodeProto.create({ ...n, name: "copy" }));
    return `${n.opType} duplicated (value defined twice)`;
  },
  dropNodeInputs(m, r) {
    const n = pick(r, allNodes(m).filter((x) => (x.input ?? []).length > 0));
    if (!n) return null;
    const k = int(r, n.input!.length);
    n.input = pick(r, [n.input!.slice(0, k), n.input!.map((x, i) => (i === k ? "" : x))])!;
    return `${n.opType} loses input ${k}`;
  },
  extraNodeInputs(m, r) {
    const n = pick(r, allNodes(m).filter((x) => (x.input ?? []).length > 0));
    if (!n) return null;
    for (let k = 1 + int(r, 4); k > 0; k--) n.input!.push(pick(r, n.input!)!);
    return `${n.opType} gets extra inputs`;
  },
  extraNodeOutputs(m, r) {
    const n = pick(r, allNodes(m));
    if (!n) return null;
    const k = 1 + int(r, 3);
    for (let i = 0; i < k; i++) n.output = [...(n.output ?? []), `extra_out_${i}`];
    return `${n.opType} gets ${k} extra outputs`;
  },
  dropNodeOutputs(m, r) {
    const n = pick(r, allNodes(m).filter((x) => (x.output ?? []).length > 0));
    if (!n) return null;
    n.output = pick(r, [[], [""], n.output!.map(() => "")])!;
    return `${n.opType} loses its outputs`;
  },
  opTypeSwap(m, r) {
    const n = pick(r, allNodes(m));
    if (!n) return null;
    const was = n.opType;
    n.opType = pick(r, [...OP_NAMES, "NoSuchOp", ""])!;
    // Mostly keep only attributes the new op declares, so that its inference and evaluation see the node.
    const def = allOps().find((d) => d.name === n.opType);
    if (def && r() < 0.8) n.attribute = (n.attribute ?? []).filter((a) => Object.hasOwn(def.attrs, a.name ?? ""));
    return `${was} replaced by ${n.opType}`;
  },
  valueInfoAbsurd(m, r) {
    // Declared types of intermediate values and outputs that contradict what the ops compute.
    const g = m.graph!;
    const produced = allNodes(m).flatMap((n) => n.output ?? []).filter((o) => o !== "");
    const name = pick(r, produced);
    if (name === undefined) return null;
    const dims = Array.from({ length: int(r, 5) }, () => pick(r, [{ dimValue: pick(r, [0, 1, 7, 2 ** 40])! }, { dimParam: "N" }, {}])!);
    const v = { name, type: { tensorType: { elemType: dtypeToOnnx(pick(r, DTYPES)!), shape: { dim: dims } } } };
    if (r() < 0.5) g.valueInfo = [...(g.valueInfo ?? []), v];
    else g.output = (g.output ?? []).map((o, i) => (i === 0 ? { ...v, name: o.name } : o));
    return `value ${JSON.stringify(name)} declared with a contradicting type`;
  },
  inputDimChanged(m, r) {
    const v = pick(r, graphInputs(m));
    return v ? setDim(v, r, pick(r, [1, 2, 5, 64])!) : null;
  },
  opDomainBad(m, r) {
    const n = pick(r, allNodes(m));
    if (!n) return null;
    n.domain = pick(r, ["com.example", "ai.onnx.ml", "kiln"])!;
    return `${n.opType} in domain ${n.domain}`;
  },
  attrWrongType(m, r) {
    const x = pick(r, allAttrs(m));
    if (!x) return null;
    const { a } = x;
    const was = AT[a.type ?? 0];
    const to = pick(r, ["FLOAT", "INT", "STRING", "INTS", "FLOATS", "TENSOR", "GRAPH", "UNKNOWN"] as const)!;
    const name = a.name;
    const fresh = onnx.AttributeProto.create({ name });
    if (to === "FLOAT") Object.assign(fresh, { type: AT.FLOAT, f: 1.5 });
    else if (to === "INT") Object.assign(fresh, { type: AT.INT, i: 3 });
    else if (to === "STRING") Object.assign(fresh, { type: AT.STRING, s: new TextEncoder().encode("bogus") });
    else if (to === "INTS") Object.assign(fresh, { type: AT.INTS, ints: [1, 2] });
    else if (to === "FLOATS") Object.assign(fresh, { type: AT.FLOATS, floats: [0.5] });
    else if (to === "TENSOR") Object.assign(fresh, { type: AT.TENSOR, t: { dims: [1], dataType: 1, floatData: [1] } });
    else if (to === "GRAPH") Object.assign(fresh, { type: AT.GRAPH, g: { name: "g" } });
    else Object.assign(fresh, { type: 99 });
    const list = x.n.attribute!;
    list[list.indexOf(a)] = fresh;
    return `${x.n.opType} attribute ${JSON.stringify(name)} (${was}) given as ${to}`;
  },
  attrRemoved(m, r) {
    const x = pick(r, allAttrs(m));
    if (!x) return null;
    x.n.attribute = x.n.attribute!.filter((a) => a !== x.a);
    return `${x.n.opType} attribute ${JSON.stringify(x.a.name)} removed`;
  },
  attrUnknown(m, r) {
    const n = pick(r, allNodes(m));
    if (!n) return null;
    n.attribute = [...(n.attribute ?? []), onnx.AttributeProto.create({ name: pick(r, ["bogus", "", "constructor", "__proto__", "toString"])!, type: AT.INT, i: 1 })];
    return `${n.opType} gets an undeclared attribute`;
  },
  attrDuplicated(m, r) {
    const x = pick(r, allAttrs(m));
    if (!x) return null;
    x.n.attribute!.push(onnx.AttributeProto.create({ ...x.a }));
    return `${x.n.opType} attribute ${JSON.stringify(x.a.name)} twice`;
  },
  attrValueAbsurd(m, r) {
    const x = pick(r, allAttrs(m).filter(({ a }) => [AT.INT, AT.INTS, AT.FLOAT, AT.FLOATS, AT.STRING].includes(a.type ?? 0)));
    if (!x) return null;
    const { a } = x;
    if (a.type === AT.INT) a.i = pick(r, ABSURD_INTS)!;
    else if (a.type === AT.FLOAT) a.f = pick(r, ABSURD_FLOATS)!;
    else if (a.type === AT.STRING) a.s = new TextEncoder().encode(pick(r, ["", "bogus", "\u0000\uffff"])!);
    else if (a.type === AT.INTS) {
      a.ints = pick(r, [[], [...(a.ints ?? []), ...(a.ints ?? [])], (a.ints ?? []).map(() => pick(r, ABSURD_INTS)!)])!;
    } else a.floats = (a.floats ?? []).map(() => pick(r, ABSURD_FLOATS)!);
    return `${x.n.opType} attribute ${JSON.stringify(a.name)} set to an absurd value`;
  },
  opsetVersion(m, r) {
    const v = pick(r, [0, 10000, -1, 2 ** 40, 1])!;
    const o = (m.opsetImport ?? []).find((x) => (x.domain ?? "") === "");
    if (o) o.version = v;
    else return null;
    return `default opset version ${v}`;
  },
  opsetRemoved(m) {
    m.opsetImport = [];
    return "no opset imports";
  },
  graphEmptied(m, r) {
    const g = m.graph!;
    if (pick(r, [true, false])) g.node = [];
    else g.output = [];
    return "graph without nodes or outputs";
  },
  kilnDomainOp(m, r) {
    // kiln's internal ops (made by its passes) must not be accepted from a file, or at least not crash.
    const n = pick(r, allNodes(m));
    if (!n) return null;
    const was = n.opType;
    const op = pick(r, ["Fused", "ToBlocked", "FromBlocked", "InLayout"])!;
    const inner = onnx.NodeProto.create({ ...n, name: "inner", input: (n.input ?? []).map((_, i) => `in${i}`), output: (n.output ?? []).map((_, i) => `out${i}`) });
    const body = { name: "body", node: [inner], input: inner.input.map((name) => ({ name })), output: inner.output.map((name) => ({ name })) };
    const attrs: Record<string, OnnxTypes.IAttributeProto> = {
      block: { name: "block", type: AT.INT, i: pick(r, [4, 8, 16, 0, -4, 3, 2 ** 40])! },
      channels: { name: "channels", type: AT.INT, i: pick(r, [1, 3, 8, 64, 0, -1, 2 ** 31])! },
      body: { name: "body", type: AT.GRAPH, g: body },
      kind: { name: "kind", type: AT.STRING, s: new TextEncoder().encode(pick(r, ["elementwise", "injective", "reduce", "opaque", "bogus"])!) },
    };
    n.attribute = Object.values(attrs).filter(() => r() < 0.8);
    // Both spellings: the kiln domain, and the internal "kiln:" name in the default domain.
    if (r() < 0.5) { n.domain = "kiln"; n.opType = op; } else { n.domain = ""; n.opType = `kiln:${op}`; }
    if (n.domain === "kiln" && !(m.opsetImport ?? []).some((o) => o.domain === "kiln")) m.opsetImport = [...(m.opsetImport ?? []), { domain: "kiln", version: 1 }];
    return `${was} replaced by ${n.domain ? "kiln." : ""}${n.opType}`;
  },
};

export const BYTE_KINDS = ["flip", "truncate", "duplicate", "splice"] as const;
export const STRUCTURED_KINDS = Object.keys(STRUCTURED);

/** A mutated model: its bytes and what was done to it. */
export interface Mutant {
  readonly kind: string;
  readonly what: string;
  readonly bytes: Uint8Array;
}

/**
 * Apply mutation `kind` to `sample` with `seed`; `other` is the donor for splices. Null when the
 * mutation does not apply to this model (e.g. no attributes to abuse).
 */
export function mutate(sample: Sample, kind: string, seed: number, other: Sample): Mutant | null {
  const r = rng(seed);
  const b = sample.bytes;
  switch (kind) {
    case "flip": return mutant(kind, flipBytes(b, r));
    case "truncate": return mutant(kind, truncate(b, r));
    case "duplicate": return mutant(kind, duplicateChunk(b, r));
    case "splice": return mutant(kind, splice(b, other, r));
  }
  const f = STRUCTURED[kind];
  if (!f) throw new Error(`no mutation ${JSON.stringify(kind)}`);
  const m = onnx.ModelProto.decode(b);
  const what = f(m, r, sample);
  return what === null ? null : { kind, what, bytes: onnx.ModelProto.encode(m).finish() };
}

const mutant = (kind: string, [what, bytes]: [string, Uint8Array]): Mutant => ({ kind, what, bytes });
