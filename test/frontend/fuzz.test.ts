/**
 * Seeded fuzzing of the importer, inference and interpreter: small conformance models are
 * mutated at the byte level and through the protobuf messages, then loaded and run. kiln's
 * contract is that bad input fails with a KilnError naming the problem, quickly; any other
 * exception (TypeError, RangeError, InternalError, ...) is a bug and fails this test.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { InferenceSession } from "../../src/api.js";
import { DTYPE_INFO, dtypeToOnnx, DTYPES } from "../../src/ir/dtype.js";
import { KilnError } from "../../src/ir/errors.js";
import { randomTensor, rng } from "../../src/ir/random.js";
import { shapeSize, Tensor } from "../../src/ir/tensor.js";
import { onnx, type OnnxTypes } from "../../src/frontend/onnx/proto.js";
import { decodeTensor, encodeTensor } from "../../src/frontend/onnx/tensor.js";
import { allOps } from "../../src/ops/registry.js";
import { NODE_TESTS } from "../helpers.js";

/** Small models over most op families, all passing on the reference backend. */
const MODELS = [
  "test_argmax_keepdims_random", "test_batchnorm_example", "test_bitcast_float32_to_int32",
  "test_center_crop_pad_crop_and_pad", "test_compress_0", "test_concat_3d_axis_1", "test_constant",
  "test_constantofshape_int_zeros", "test_cumsum_2d_axis_1", "test_depthtospace_crd_mode_example", "test_edge_pad",
  "test_expand_dim_changed", "test_eyelike_with_dtype", "test_gather_2d_indices",
  "test_gathernd_example_int32_batch_dim1", "test_group_normalization_example", "test_if",
  "test_layer_normalization_4d_axis1", "test_nllloss_NCd1d2_with_weight", "test_nonzero_example",
  "test_onehot_with_axis", "test_range_int32_type_negative_delta", "test_reduce_sum_keepdims_random",
  "test_reshape_negative_extended_dims", "test_reversesequence_batch", "test_scatternd_add",
  "test_sce_mean_weight_expanded", "test_slice_neg_steps", "test_split_variable_parts_2d_opset18", "test_tile",
  "test_top_k", "test_unique_sorted_with_axis", "test_unsqueeze_two_axes", "test_training_dropout_mask",
  "test_tensorscatter", "test_add_bcast", "test_matmul_2d", "test_conv_with_strides_padding", "test_maxpool_2d_pads",
  "test_averagepool_2d_strides", "test_gemm_all_attributes", "test_relu", "test_where_example",
  "test_resize_upsample_scales_linear", "test_lstm_defaults", "test_gru_defaults", "test_rnn_seq_length",
  "test_einsum_batch_matmul", "test_loop11", "test_scan9_sum", "test_gridsample", "test_roialign_aligned_false",
  "test_nonmaxsuppression_center_point_box_format", "test_dft", "test_stft", "test_attention_3d",
  "test_convtranspose", "test_globalaveragepool", "test_mod_mixed_sign_int32", "test_pow", "test_clip",
  "test_sum_example", "test_bitshift_right_uint32", "test_col2im", "test_affine_grid_2d", "test_det_2d",
  "test_lppool_2d_default", "test_maxunpool_export_without_output_shape", "test_prelu_broadcast",
  "test_blackmanwindow", "test_melweightmatrix", "test_rotary_embedding",
];

/** The importer, inference and interpreter are fuzzed here; the code generators have their own tests. */
const OPTIONS = { maxTensorBytes: 64 * 2 ** 20, maxElements: 2 ** 24, backend: "reference" } as const;
/** Time one case (load plus all runs) may take before it counts as too slow, and before it counts as a hang. */
const SLOW_MS = 4000;
const HANG_MS = 6000;

/** FUZZ_ONLY=<substring of a case description> reruns just the matching cases; FUZZ_TRACE=1 prints each case and its errors. */
const ONLY = process.env.FUZZ_ONLY;

const AT = onnx.AttributeProto.AttributeType;
const OP_NAMES = allOps().map((d) => d.name).filter((n) => !n.includes(":")).sort();
const ABSURD_INTS = [-1, -7, 0, 1000, -1000, 4096, 30000, 2 ** 31, 2 ** 40, -(2 ** 40), 2 ** 53];
const ABSURD_FLOATS = [NaN, Infinity, -Infinity, -1e30, 1e30, 0];

type Rand = () => number;
type ModelProto = OnnxTypes.ModelProto;
type GraphProto = OnnxTypes.IGraphProto;

const int = (r: Rand, n: number) => Math.floor(r() * n);
function pick<T>(r: Rand, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[int(r, xs.length)];
}

interface Sample {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly inputs: Tensor[];
}

function loadSample(name: string): Sample {
  const dir = join(NODE_TESTS, name);
  const set = join(dir, "test_data_set_0");
  const files = readdirSync(set).filter((f) => /^input_\d+\.pb$/.test(f));
  files.sort((a, b) => parseInt(a.slice(6), 10) - parseInt(b.slice(6), 10));
  return {
    name,
    bytes: new Uint8Array(readFileSync(join(dir, "model.onnx"))),
    inputs: files.map((f) => decodeTensor(new Uint8Array(readFileSync(join(set, f))))),
  };
}

// ---- byte-level mutations ----

function flipBytes(b: Uint8Array, r: Rand): [string, Uint8Array] {
  const out = b.slice();
  const k = 1 + int(r, 16);
  for (let i = 0; i < k; i++) out[int(r, out.length)] ^= 1 + int(r, 255);
  return [`flip ${k} bytes`, out];
}

function truncate(b: Uint8Array, r: Rand): [string, Uint8Array] {
  const at = int(r, b.length);
  return [`truncate to ${at} bytes`, b.slice(0, at)];
}

function duplicateChunk(b: Uint8Array, r: Rand): [string, Uint8Array] {
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

function splice(b: Uint8Array, other: Sample, r: Rand): [string, Uint8Array] {
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
  return `input "${v.name}" dim ${i} = ${value}`;
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

const STRUCTURED: Record<string, Structured> = {
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
    return `tensor "${t.name}" dim = ${v}`;
  },
  tensorDimNegative(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dims = [...(t.dims ?? []), 1];
    t.dims[int(r, t.dims.length)] = -1 - int(r, 5);
    return `tensor "${t.name}" gets a negative dim`;
  },
  tensorExtraDim(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dims = [...(t.dims ?? []), 2 + int(r, 3)];
    return `tensor "${t.name}" gets an extra dim`;
  },
  rawDataWrongLength(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    const len = (t.rawData?.length ?? 4) + pick(r, [-3, -1, 1, 5, 17])!;
    t.rawData = new Uint8Array(Math.max(1, len)).map(() => int(r, 256));
    t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = []; t.uint64Data = [];
    return `tensor "${t.name}" raw_data of ${Math.max(1, len)} bytes`;
  },
  tensorDataTypeBad(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dataType = pick(r, [99, 0, 8, 16, 17, -1, 1000])!;
    return `tensor "${t.name}" data_type ${t.dataType}`;
  },
  tensorDataTypeSwap(m, r, sample) {
    const t = someTensor(m, r, sample);
    if (!t) return null;
    t.dataType = dtypeToOnnx(pick(r, DTYPES)!);
    return `tensor "${t.name}" data_type ${t.dataType}`;
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
    return `tensor "${t.name}" element ${i} = ${v}`;
  },
  tensorValuesNaN(m, r, sample) {
    const t = someTensor(m, r, sample, (x) => x.dataType === 1 && (x.rawData?.length ?? 0) > 0);
    if (!t) return null;
    const raw = new Uint8Array(t.rawData!);
    const i = int(r, raw.length >> 2);
    new DataView(raw.buffer).setFloat32(i * 4, pick(r, ABSURD_FLOATS)!, true);
    t.rawData = raw;
    return `tensor "${t.name}" element ${i} non-finite`;
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
    return `input "${v.name}" has no shape`;
  },
  inputElemTypeBad(m, r) {
    const v = pick(r, [...graphInputs(m), ...(m.graph!.output ?? [])]);
    if (!v?.type?.tensorType) return null;
    v.type.tensorType.elemType = pick(r, [99, 8, 16, -5])!;
    return `value "${v.name}" elem_type ${v.type.tensorType.elemType}`;
  },
  inputElemTypeSwap(m, r) {
    const v = pick(r, graphInputs(m));
    if (!v?.type?.tensorType) return null;
    v.type.tensorType.elemType = dtypeToOnnx(pick(r, DTYPES)!);
    return `input "${v.name}" elem_type ${v.type.tensorType.elemType}`;
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
    return `input "${v.name}" type changed`;
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
    return `initializer "${t.name}" given twice`;
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
    return `value "${name}" declared with a contradicting type`;
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
    return `${x.n.opType} attribute '${name}' (${was}) given as ${to}`;
  },
  attrRemoved(m, r) {
    const x = pick(r, allAttrs(m));
    if (!x) return null;
    x.n.attribute = x.n.attribute!.filter((a) => a !== x.a);
    return `${x.n.opType} attribute '${x.a.name}' removed`;
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
    return `${x.n.opType} attribute '${x.a.name}' twice`;
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
    return `${x.n.opType} attribute '${a.name}' set to an absurd value`;
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
};

// ---- running ----

/** The test's own inputs, bound to the session's inputs by position. */
function ownFeeds(s: InferenceSession, inputs: readonly Tensor[]): Record<string, Tensor> {
  return Object.fromEntries(s.inputNames.map((n, i) => [n, inputs[i] ?? inputs[0] ?? Tensor.scalar("float32", 0)]));
}

/** Inputs reshaped and retyped to what the session declares, so that mutated types reach the ops. */
function conformedFeeds(s: InferenceSession, inputs: readonly Tensor[], seed: number): Record<string, Tensor> {
  return Object.fromEntries(s.inputMetadata.map((v, i) => {
    const own = inputs[i] ?? Tensor.scalar("float32", 1);
    const shape = v.type.shape?.map((d, k) => (typeof d === "number" ? d : own.shape[k] ?? 1)) ?? own.shape;
    const t = shape.every((d) => d >= 0) && shapeSize(shape) <= 4096 && shapeSize(shape) !== own.size
      ? randomTensor(v.type.dtype, shape, seed + i, -3, 3)
      : Tensor.fromNumbers(v.type.dtype, own.size === shapeSize(shape) ? shape : own.shape, own.numbers());
    return [v.name, t];
  }));
}

/** The test's own inputs with absurd values: indices, shapes and counts far out of range, NaNs. */
function absurdFeeds(s: InferenceSession, inputs: readonly Tensor[], r: Rand): Record<string, Tensor> {
  const feeds = ownFeeds(s, inputs);
  const name = pick(r, s.inputNames);
  if (name === undefined) return feeds;
  const t = feeds[name]!;
  if (t.size === 0) return feeds;
  const v = t.numbers();
  const bad = DTYPE_INFO[t.dtype].isFloat ? ABSURD_FLOATS : ABSURD_INTS;
  if (r() < 0.5) v[int(r, v.length)] = pick(r, bad)!;
  else v.fill(pick(r, bad)!);
  feeds[name] = Tensor.fromNumbers(t.dtype, t.shape, v);
  return feeds;
}

/** Inputs of the wrong shape or dtype. */
function wrongFeeds(s: InferenceSession, inputs: readonly Tensor[], r: Rand): Record<string, Tensor> {
  const feeds = ownFeeds(s, inputs);
  const name = pick(r, s.inputNames);
  if (name === undefined) return { bogus: Tensor.scalar("float32", 0) };
  const t = feeds[name]!;
  const kind = int(r, 5);
  if (kind === 0) feeds[name] = Tensor.fromNumbers(pick(r, DTYPES.filter((d) => d !== t.dtype))!, t.shape, t.numbers());
  else if (kind === 1) feeds[name] = t.reshape([...t.shape, 1]);
  else if (kind === 2) feeds[name] = t.reshape([t.size]);
  else if (kind === 3) feeds[name] = randomTensor(t.dtype, t.shape.map((d) => d + 1 + int(r, 2)), 7);
  else delete feeds[name];
  return feeds;
}

interface Failure {
  readonly where: string;
  readonly error: string;
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${String(e)}`;
  const top = (e.stack ?? "").split("\n").filter((l) => l.includes("/src/")).slice(0, 2).map((l) => l.trim()).join(" <- ");
  return `${e.name}: ${e.message.slice(0, 300)} [${top}]`;
}

/** Outcome counts by stage and error class, to see how deep the mutants get. */
type Tally = Map<string, number>;
const count = (t: Tally, k: string) => t.set(k, (t.get(k) ?? 0) + 1);
const errorClass = (e: unknown) => (e instanceof Error ? e.name : typeof e);

async function runCase(where: string, bytes: Uint8Array, sample: Sample, seed: number, failures: Failure[], tally: Tally): Promise<void> {
  const r = rng(seed);
  const check = (stage: string, e: unknown) => {
    if (process.env.FUZZ_TRACE) console.error(`  ${stage}: ${errorClass(e)}: ${e instanceof Error ? e.message : String(e)}`);
    if (!(e instanceof KilnError)) failures.push({ where: `${where} (${stage})`, error: describeError(e) });
  };
  const t0 = performance.now();
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, OPTIONS);
  } catch (e) {
    check("create", e);
    count(tally, `create: ${errorClass(e)}`);
    return;
  }
  const runs: [string, () => Record<string, Tensor>][] = [
    ["own inputs", () => ownFeeds(session, sample.inputs)],
    ["conformed inputs", () => conformedFeeds(session, sample.inputs, seed)],
    ["absurd inputs", () => absurdFeeds(session, sample.inputs, r)],
    ["wrong inputs", () => wrongFeeds(session, sample.inputs, r)],
  ];
  for (const [stage, feeds] of runs) {
    try {
      await session.run(feeds());
      count(tally, `${stage}: ok`);
    } catch (e) {
      check(stage, e);
      count(tally, `${stage}: ${errorClass(e)}`);
    }
  }
  const ms = performance.now() - t0;
  if (ms > SLOW_MS) failures.push({ where, error: `took ${Math.round(ms)} ms` });
}

/** A case is a model, a mutation kind and a seed; the bytes are made where the case runs. */
interface CaseRef {
  readonly model: number;
  readonly kind: string;
  readonly k: number;
}

const BYTE_KINDS = ["flip", "truncate", "duplicate", "splice"] as const;
/** Mutations that mostly get past loading and reach inference and evaluation: more seeds each. */
const DEEP = new Set(["opTypeSwap", "attrValueAbsurd", "attrWrongType", "tensorValuesAbsurd", "inputDimChanged", "inputElemTypeSwap", "valueInfoAbsurd"]);

function caseList(): CaseRef[] {
  const refs: CaseRef[] = [];
  MODELS.forEach((_, model) => {
    for (let k = 0; k < 3; k++) for (const kind of BYTE_KINDS) refs.push({ model, kind, k });
    for (const kind of Object.keys(STRUCTURED)) for (let k = 0; k < (DEEP.has(kind) ? 6 : 2); k++) refs.push({ model, kind, k });
  });
  return refs;
}

function makeCase(ref: CaseRef, samples: readonly Sample[]): { where: string; bytes: Uint8Array; seed: number } | null {
  const sample = samples[ref.model]!;
  const byteKind = BYTE_KINDS.indexOf(ref.kind as (typeof BYTE_KINDS)[number]);
  if (byteKind >= 0) {
    const seed = ref.model * 1000 + ref.k * 10 + byteKind;
    const r = rng(seed);
    const other = samples[(ref.model + 1 + ref.k) % samples.length]!;
    const [desc, bytes] = [flipBytes, truncate, duplicateChunk, (b: Uint8Array, rr: Rand) => splice(b, other, rr)][byteKind]!(sample.bytes, r);
    return { where: `${sample.name}: ${desc} (seed ${seed})`, bytes, seed };
  }
  const seed = ref.model * 1000 + 100 + Object.keys(STRUCTURED).indexOf(ref.kind) * 10 + ref.k;
  const m = onnx.ModelProto.decode(sample.bytes);
  const desc = STRUCTURED[ref.kind]!(m, rng(seed), sample);
  if (desc === null) return null;
  return { where: `${sample.name}: ${ref.kind}: ${desc} (seed ${seed})`, bytes: onnx.ModelProto.encode(m).finish(), seed };
}

/** Messages from the child process that runs the cases. */
type Report =
  | { readonly type: "start"; readonly index: number; readonly where: string }
  | { readonly type: "end"; readonly failures: Failure[]; readonly outcomes: string[] }
  | { readonly type: "done" };

const report = (m: Report) => process.send!(m);

/** Child side: run cases from `start` on, reporting each; the test process survives whatever happens here. */
async function childMain(start: number): Promise<void> {
  const samples = MODELS.map(loadSample);
  const refs = caseList();
  for (let index = start; index < refs.length; index++) {
    const c = makeCase(refs[index]!, samples);
    if (c === null || (ONLY && !c.where.includes(ONLY))) continue;
    if (process.env.FUZZ_TRACE) console.error(c.where);
    report({ type: "start", index, where: c.where });
    const failures: Failure[] = [];
    const tally: Tally = new Map();
    await runCase(c.where, c.bytes, samples[refs[index]!.model]!, c.seed, failures, tally);
    report({ type: "end", failures, outcomes: [...tally.keys()] });
  }
  report({ type: "done" });
  process.disconnect();
}

/**
 * Parent side: run all cases in a child process with a capped heap; a case that runs out of memory,
 * kills the child or exceeds HANG_MS is a failure, and a fresh child carries on after it.
 */
async function runAll(total: number): Promise<{ cases: number; failures: Failure[]; tally: Tally }> {
  const failures: Failure[] = [];
  const tally: Tally = new Map();
  let cases = 0;
  let next = 0;
  while (next < total) {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, FUZZ_FROM: String(next) },
      execArgv: ["--max-old-space-size=512"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    let stderr = ""; // its first error line
    child.stderr!.on("data", (d: Buffer) => {
      if (process.env.FUZZ_TRACE) process.stderr.write(d);
      else if (stderr === "") stderr = d.toString().split("\n").find((l) => /FATAL|Error/.test(l)) ?? "";
    });
    let current = "";
    let finished = false;
    let killed = false;
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      child.on("message", (m: Report) => {
        if (m.type === "start") {
          cases++;
          started++;
          current = m.where;
          next = m.index + 1;
          clearTimeout(timer);
          timer = setTimeout(() => {
            failures.push({ where: current, error: `no result after ${HANG_MS} ms (hang)` });
            killed = true;
            child.kill("SIGKILL");
          }, HANG_MS);
        } else if (m.type === "end") {
          clearTimeout(timer);
          current = "";
          failures.push(...m.failures);
          for (const k of m.outcomes) count(tally, k);
        } else {
          finished = true;
          next = total;
        }
      });
      // "close", not "exit": messages the child sent just before exiting can arrive after "exit".
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (!finished && !killed) {
          failures.push({ where: current || "fuzz child", error: `the process died (code ${code}, signal ${signal}): ${stderr}` });
          if (started === 0) next = total; // it dies before any case: restarting would loop
        }
        resolve();
      });
    });
  }
  return { cases, failures, tally };
}

if (process.env.FUZZ_FROM !== undefined && process.send) {
  await childMain(Number(process.env.FUZZ_FROM));
} else {
  test("fuzzed models fail with KilnErrors, quickly", { timeout: 60_000 }, async () => {
    const t0 = performance.now();
    const { cases, failures, tally } = await runAll(caseList().length);
    const ms = performance.now() - t0;
    console.log(`fuzz: ${cases} cases over ${MODELS.length} models in ${Math.round(ms)} ms, ${failures.length} failures`);
    console.log(`fuzz outcomes: ${[...tally].sort().map(([k, n]) => `${k} ${n}`).join(", ")}`);
    for (const f of failures) console.log(`FAIL ${f.where}: ${f.error}`);
    if (!ONLY) assert.ok(cases >= 1000, `only ${cases} cases`);
    assert.equal(failures.length, 0, `${failures.length} cases failed other than with a KilnError or took too long (listed above)`);
  });

  test("fuzzed TensorProtos fail with KilnErrors", () => {
    const failures: string[] = [];
    const samples = MODELS.slice(0, 20).map(loadSample);
    for (const [mi, sample] of samples.entries()) {
      for (const [ti, t] of sample.inputs.entries()) {
        const bytes = encodeTensor(t, "x");
        for (let k = 0; k < 8; k++) {
          const seed = mi * 100 + ti * 10 + k;
          const r = rng(seed);
          const [desc, mutated] = [flipBytes, truncate, duplicateChunk][k % 3]!(bytes, r);
          try {
            decodeTensor(mutated, { maxTensorBytes: OPTIONS.maxTensorBytes });
          } catch (e) {
            if (!(e instanceof KilnError)) failures.push(`${sample.name} input ${ti}: ${desc} (seed ${seed}): ${describeError(e)}`);
          }
        }
      }
    }
    assert.deepEqual(failures, []);
  });

  test("recursive functions and deeply nested subgraphs are KilnErrors", async () => {
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
    const call = (f: string, a: string, b: string) => ({ opType: f, domain: "my", input: [a], output: [b] });
    const fn = (name: string, body: OnnxTypes.INodeProto[]) => ({ name, domain: "my", input: ["a"], output: ["b"], node: body });
    const withFunctions = (functions: OnnxTypes.IFunctionProto[]) => onnx.ModelProto.encode({
      irVersion: 8, opsetImport: [{ domain: "", version: 17 }, { domain: "my", version: 1 }], functions,
      graph: { name: "g", input: [vi("x")], output: [vi("y")], node: [call("F", "x", "y")] },
    }).finish();
    let nested: OnnxTypes.IGraphProto = { name: "leaf", output: [vi("x")] };
    for (let i = 0; i < 2000; i++) {
      const branch = (g: OnnxTypes.IGraphProto) => ({ type: AT.GRAPH, g });
      nested = { name: `level${i}`, output: [vi(`o${i}`)], node: [{ opType: "If", input: ["c"], output: [`o${i}`],
        attribute: [{ name: "then_branch", ...branch(nested) }, { name: "else_branch", ...branch({ name: "e", output: [vi("x")] }) }] }] };
    }
    const deep = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph: {
      name: "g", input: [vi("x")], output: [vi("y")], initializer: [{ name: "c", dataType: 9, int32Data: [1] }],
      node: [...nested.node!, { opType: "Identity", input: ["o1999"], output: ["y"] }],
    } }).finish();
    const models = {
      "a function calling itself": withFunctions([fn("F", [call("F", "a", "b")])]),
      "mutually recursive functions": withFunctions([fn("F", [call("G", "a", "b")]), fn("G", [call("F", "a", "b")])]),
      "a function called 2^20 times": withFunctions(Array.from({ length: 20 }, (_, i) =>
        fn(i === 0 ? "F" : `F${i}`, i === 19 ? [{ opType: "Identity", input: ["a"], output: ["b"] }] : [call(`F${i + 1}`, "a", "t"), call(`F${i + 1}`, "t", "b")]))),
      "If nested 2000 deep": deep,
    };
    for (const [what, bytes] of Object.entries(models)) {
      await assert.rejects(InferenceSession.create(bytes, OPTIONS), (e) => e instanceof KilnError, what);
    }
  });

  test("a 50000-node chain stored in reverse order loads and runs quickly", async () => {
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
    const n = 50_000;
    const node = Array.from({ length: n }, (_, i) => ({ opType: "Identity", input: [i === 0 ? "x" : `v${i - 1}`], output: [i === n - 1 ? "y" : `v${i}`] }));
    const bytes = onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }],
      graph: { name: "g", input: [vi("x")], output: [vi("y")], node: node.reverse() } }).finish();
    const t0 = performance.now();
    const session = await InferenceSession.create(bytes, OPTIONS);
    const out = await session.run({ x: Tensor.fromNumbers("float32", [2], [1, 2]) });
    assert.deepEqual(Array.from(out.y!.numbers()), [1, 2]);
    assert.ok(performance.now() - t0 < 10_000, `took ${Math.round(performance.now() - t0)} ms`);
  });

  test("unreadable sources and malformed feeds are InputErrors", async () => {
    const isInputError = (e: unknown) => e instanceof KilnError && e.name === "InputError";
    await assert.rejects(InferenceSession.create(join(NODE_TESTS, "no_such_test", "model.onnx")), isInputError);
    await assert.rejects(InferenceSession.create(NODE_TESTS), isInputError);
    const session = await InferenceSession.create(join(NODE_TESTS, "test_identity", "model.onnx"));
    assert.throws(() => new Tensor("float32", [-1, -1], new Float32Array(1)), (e) => e instanceof KilnError);
    assert.throws(() => new Tensor("float32", [0.5, 4], new Float32Array(2)), (e) => e instanceof KilnError);
    const wrongStorage = new Tensor("float32", [1, 1, 2, 2], new BigInt64Array(4));
    const bad = [null, 3, {}, { x: [1, 2] }, { x: Tensor.scalar("float32", 1), y: Tensor.scalar("float32", 1) }, { x: wrongStorage }];
    for (const [i, feeds] of bad.entries()) {
      await assert.rejects(session.run(feeds as unknown as Record<string, Tensor>), isInputError, `feeds #${i}`);
    }
  });
}
