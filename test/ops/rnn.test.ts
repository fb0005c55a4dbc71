/**
 * Recurrent, signal and miscellaneous ops (rnn.ts, signal.ts, misc.ts): values computed by hand,
 * taken from the ONNX spec's examples, or (for the multi-option recurrent cases) produced by an
 * independent numpy transcription of the spec's equations, and symbolic inference.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GraphBuilder } from "../../src/frontend/builder/builder.js";
import type { DType } from "../../src/ir/dtype.js";
import type { Attr, Node } from "../../src/ir/graph.js";
import { Tensor } from "../../src/ir/tensor.js";
import type { Dim } from "../../src/ir/types.js";
import { inferModel } from "../../src/ops/inference.js";
import { evaluateNode } from "../../src/ops/interpreter.js";
import "../../src/ops/index.js";

const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers("float32", shape, v);
const f64 = (shape: number[], v: number[]) => Tensor.fromNumbers("float64", shape, v);
const i64 = (v: number[], shape = [v.length]) => Tensor.fromNumbers("int64", shape, v);
const scalar = (dtype: DType, v: number) => Tensor.scalar(dtype, v);

type AttrValue = number | string | number[] | string[] | { floats: number[] } | { float: number };

function toAttrs(attrs: Record<string, AttrValue>): Node["attrs"] {
  const out: Record<string, Attr> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "number") out[k] = Number.isInteger(v) ? { type: "int", value: v } : { type: "float", value: v };
    else if (typeof v === "string") out[k] = { type: "string", value: v };
    else if (Array.isArray(v) && v.some((x) => typeof x === "string")) out[k] = { type: "strings", value: v as string[] };
    else if (Array.isArray(v)) out[k] = { type: "ints", value: v as number[] };
    else if ("float" in v) out[k] = { type: "float", value: v.float };
    else out[k] = { type: "floats", value: v.floats };
  }
  return out;
}

function run(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> = {}, opset = 22, outputs: string[] = ["y"]): (Tensor | null)[] {
  const node: Node = { op, name: "", inputs: inputs.map((t, i) => (t ? `x${i}` : "")), outputs, attrs: toAttrs(attrs) };
  const opsets: Record<string, number> = { "": opset, "ai.onnx.ml": 3 };
  return evaluateNode(node, inputs, opsets);
}

function one(op: string, inputs: (Tensor | null)[], attrs: Record<string, AttrValue> = {}, opset = 22): Tensor {
  return run(op, inputs, attrs, opset)[0]!;
}

function close(t: Tensor, shape: number[], values: number[], tol = 1e-6): void {
  assert.deepEqual([...t.shape], shape);
  const got = Array.from(t.numbers());
  assert.equal(got.length, values.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - values[i]!) <= tol, `element ${i}: got ${g}, expected ${values[i]}`));
}

function inferShapes(op: string, shape: Dim[], consts: (Tensor | null)[], attrs: Record<string, AttrValue> = {}, opset = 22, outputs = 1): (readonly Dim[] | null)[] {
  const b = new GraphBuilder("t", { "": opset });
  const x = b.input("x", "float32", shape);
  const ins = [x, ...consts.map((t, i) => (t ? b.weight(`c${i}`, t) : ""))];
  const outs = b.nodeN(op, ins, outputs, attrs as never);
  outs.forEach((o) => b.output(o));
  const m = inferModel(b.build());
  return outs.map((o) => m.graph.valueTypes.get(o)?.shape ?? null);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe("RNN", () => {
  it("one step by hand: H = tanh(x*W + h0*R + Wb + Rb)", () => {
    const [y, yh] = run("RNN", [f32([1, 1, 1], [1]), f32([1, 1, 1], [0.5]), f32([1, 1, 1], [2]), f32([1, 2], [0.1, 0.2]), null, f32([1, 1, 1], [0.25])],
      { hidden_size: 1 }, 22, ["y", "yh"]);
    const h = Math.tanh(0.5 + 0.5 + 0.3);
    close(y!, [1, 1, 1, 1], [h]);
    close(yh!, [1, 1, 1], [h]);
  });
  it("reverse with sequence_lens runs each batch from its last valid step and zero-pads Y", () => {
    // W = 1, R = 1, Relu: h accumulates the inputs from the end.
    const x = f32([3, 2, 1], [1, 10, 2, 20, 3, 30]);
    const [y, yh] = run("RNN", [x, f32([1, 1, 1], [1]), f32([1, 1, 1], [1]), null, Tensor.fromNumbers("int32", [2], [3, 2])],
      { direction: "reverse", activations: ["Relu"] }, 22, ["y", "yh"]);
    close(y!, [3, 1, 2, 1], [6, 30, 5, 20, 3, 0]);
    close(yh!, [1, 2, 1], [6, 30]);
  });
});

describe("LSTM", () => {
  it("one step by hand with zero gate weights (gates 0.5) and initial states", () => {
    // W rows are i, o, f, c; only the cell gate sees x.
    const w = f32([1, 4, 1], [0, 0, 0, 1]);
    const r = f32([1, 4, 1], [0, 0, 0, 0]);
    const [y, yh, yc] = run("LSTM", [f32([1, 1, 1], [1]), w, r, null, null, f32([1, 1, 1], [0.3]), f32([1, 1, 1], [0.8])],
      { hidden_size: 1 }, 22, ["y", "yh", "yc"]);
    const c = 0.5 * 0.8 + 0.5 * Math.tanh(1);
    close(yc!, [1, 1, 1], [c]);
    close(yh!, [1, 1, 1], [0.5 * Math.tanh(c)]);
    close(y!, [1, 1, 1, 1], [0.5 * Math.tanh(c)]);
  });
  it("peepholes act on C(t-1) for i/f and on C(t) for o", () => {
    const w = f32([1, 4, 1], [0, 0, 0, 1]);
    const r = f32([1, 4, 1], [0, 0, 0, 0]);
    const p = f32([1, 3], [1, 2, 3]);
    const [, , yc] = run("LSTM", [f32([1, 1, 1], [1]), w, r, null, null, null, f32([1, 1, 1], [0.5]), p], {}, 22, ["", "", "yc"]);
    const c = sigmoid(3 * 0.5) * 0.5 + sigmoid(0.5) * Math.tanh(1);
    close(yc!, [1, 1, 1], [c]);
    const [, yh] = run("LSTM", [f32([1, 1, 1], [1]), w, r, null, null, null, f32([1, 1, 1], [0.5]), p], {}, 22, ["", "yh"]);
    close(yh!, [1, 1, 1], [sigmoid(2 * c) * Math.tanh(c)]);
  });
});

describe("GRU", () => {
  it("one step by hand, both linear_before_reset settings", () => {
    // Gates z, r, h; Wz = 0, Wr = 0, Wh = 1; R = 1 everywhere; h0 = 0.5; x = 1.
    const x = f32([1, 1, 1], [1]);
    const w = f32([1, 3, 1], [0, 0, 1]);
    const r = f32([1, 3, 1], [1, 1, 1]);
    const b = f32([1, 6], [0, 0, 0, 0, 0, 0.2]);
    const h0 = f32([1, 1, 1], [0.5]);
    const z = sigmoid(0.5);
    const rr = sigmoid(0.5);
    const hDefault = Math.tanh(1 + rr * 0.5 + 0.2);
    const hLinear = Math.tanh(1 + rr * (0.5 + 0.2));
    close(one("GRU", [x, w, r, b, null, h0], { hidden_size: 1 }), [1, 1, 1, 1], [(1 - z) * hDefault + z * 0.5]);
    close(one("GRU", [x, w, r, b, null, h0], { hidden_size: 1, linear_before_reset: 1 }), [1, 1, 1, 1], [(1 - z) * hLinear + z * 0.5]);
  });
});

interface RnnCase {
  kind: "RNN" | "GRU" | "LSTM";
  cfg: { S: number; B: number; I: number; dir: string; layout: number; H: number; lens?: number[]; clip?: number | null; lbr?: boolean; if?: boolean; acts?: string[]; alpha?: number[]; beta?: number[] };
  inputs: Record<string, { shape: number[]; data: number[] }>;
  outputs: Record<string, { shape: number[]; data: number[] }>;
}

// Generated by a numpy transcription of the spec's equations (masking steps past sequence_lens).
const CASES: RnnCase[] = [
  {"kind":"LSTM","cfg":{"S":3,"B":2,"I":2,"H":2,"dir":"bidirectional","layout":1,"lens":[3,2],"clip":1.0},"inputs":{"X":{"shape":[2,3,2],"data":[0.1,-0.1,-0.5,0.4,-0.7,-1.3,0.6,0.1,1.3,0.9,-0.6,0.0]},"W":{"shape":[2,8,2],"data":[-1.6,-0.2,-0.9,-0.5,-0.4,-0.2,0.3,0.7,-0.1,1.0,-0.5,0.2,0.6,0.1,-0.5,-0.6,-0.3,0.2,-0.7,-0.1,-0.1,0.4,0.2,0.2,-0.5,-0.1,0.5,1.0,-0.9,1.1,0.9,0.5]},"R":{"shape":[2,8,2],"data":[0.2,-0.2,1.0,1.4,1.3,0.9,0.3,-0.8,-0.0,0.5,-0.9,0.3,0.3,0.5,-0.8,-0.5,-0.3,-0.8,1.2,-0.3,0.2,-0.2,1.1,0.9,0.4,-1.5,0.0,0.5,0.7,-0.4,1.3,-0.9]},"B":{"shape":[2,16],"data":[-0.3,0.5,0.0,1.0,0.1,-0.3,-0.2,-0.5,-0.6,0.3,0.3,0.6,-0.4,0.8,-0.1,0.8,-0.2,-0.4,0.1,0.5,0.1,-0.3,-0.7,-0.7,0.3,0.5,-0.1,-0.5,0.4,-0.6,-0.4,0.3]},"lens":{"shape":[2],"data":[3.0,2.0]},"h0":{"shape":[2,2,2],"data":[-2.3,0.4,-0.1,0.2,-0.6,0.1,0.7,-0.8]},"c0":{"shape":[2,2,2],"data":[1.4,0.7,0.8,0.8,0.8,1.2,0.1,-1.4]},"P":{"shape":[2,6],"data":[-0.1,-0.8,-1.4,0.3,-0.6,-1.0,-1.0,0.3,0.4,1.3,-0.0,1.0]}},"outputs":{"Y":{"shape":[2,3,2,2],"data":[0.0549703,0.4195435,-0.1202793,-0.0671007,-0.0165363,0.2983067,0.0963971,-0.1255201,-0.2607705,0.4102393,0.1178148,-0.0968831,0.0661491,0.3788462,-0.2052429,0.0076856,0.1257066,-0.0274789,-0.1032987,-0.0250103,0.0,0.0,0.0,0.0]},"Yh":{"shape":[2,2,2],"data":[-0.2607705,0.4102393,-0.1202793,-0.0671007,0.1257066,-0.0274789,-0.2052429,0.0076856]},"Yc":{"shape":[2,2,2],"data":[-0.3731027,0.801526,-0.2602241,-0.15038,0.3322484,-0.0376055,-0.5042739,0.0151931]}}},
  {"kind":"GRU","cfg":{"S":3,"B":2,"I":2,"H":2,"dir":"reverse","layout":0,"lens":[2,3],"lbr":true},"inputs":{"X":{"shape":[3,2,2],"data":[1.4,1.2,-2.4,1.2,0.3,0.4,0.4,0.4,0.3,-0.4,-1.9,-0.1]},"W":{"shape":[1,6,2],"data":[-0.6,0.8,-0.2,0.1,-0.6,-0.4,-0.0,-1.0,0.2,-0.1,-0.8,-1.7]},"R":{"shape":[1,6,2],"data":[0.4,-0.2,-0.4,-0.2,1.3,-0.0,0.1,-1.0,1.2,0.6,0.7,0.0]},"B":{"shape":[1,12],"data":[0.5,0.2,0.3,-0.1,-0.7,0.5,-1.0,-0.1,-0.1,-0.5,0.3,-0.1]},"lens":{"shape":[2],"data":[2.0,3.0]},"h0":{"shape":[1,2,2],"data":[-0.4,0.5,-0.5,1.4]}},"outputs":{"Y":{"shape":[3,1,2,2],"data":[-0.5168209,-0.4326479,-0.5765436,0.3631021,-0.5068271,0.0573129,-0.5171578,0.3804815,0.0,0.0,-0.5517996,1.2273563]},"Yh":{"shape":[1,2,2],"data":[-0.5168209,-0.4326479,-0.5765436,0.3631021]}}},
  {"kind":"RNN","cfg":{"S":2,"B":1,"I":2,"H":2,"dir":"bidirectional","layout":0,"acts":["LeakyRelu","HardSigmoid"],"alpha":[0.3],"beta":[]},"inputs":{"X":{"shape":[2,1,2],"data":[-0.5,0.6,-0.7,-0.6]},"W":{"shape":[2,2,2],"data":[-1.1,0.5,0.6,-0.3,0.1,-0.9,-0.3,1.0]},"R":{"shape":[2,2,2],"data":[0.1,1.6,-0.6,0.4,-0.1,0.4,-0.0,-0.4]},"B":{"shape":[2,4],"data":[-0.4,1.5,-0.0,-1.0,-0.3,0.3,-0.3,0.7]},"h0":{"shape":[2,1,2],"data":[1.0,-0.2,-0.5,-1.0]}},"outputs":{"Y":{"shape":[2,2,1,2],"data":[0.23,-0.198,0.31008,0.79384,-0.06714,0.0428,0.404,0.702]},"Yh":{"shape":[2,1,2],"data":[-0.06714,0.0428,0.31008,0.79384]}}},
  {"kind":"LSTM","cfg":{"S":2,"B":1,"I":1,"H":2,"dir":"forward","layout":0,"if":true,"acts":["Sigmoid","Affine","Softsign"],"alpha":[0.5],"beta":[0.25]},"inputs":{"X":{"shape":[2,1,1],"data":[-0.4,2.6]},"W":{"shape":[1,8,1],"data":[-0.2,-0.9,0.1,-0.0,0.7,-0.6,0.6,0.6]},"R":{"shape":[1,8,2],"data":[-0.5,0.1,-0.6,1.6,-0.5,-0.3,-0.7,-0.2,-0.0,0.5,-0.4,-0.1,-1.0,-0.6,1.9,0.7]},"B":{"shape":[1,16],"data":[-0.4,-0.7,-0.5,-0.0,0.0,-0.4,-0.6,0.7,0.2,-0.2,-0.1,-0.3,-1.5,0.1,-0.5,-0.5]},"h0":{"shape":[1,1,2],"data":[-0.6,0.7]},"c0":{"shape":[1,1,2],"data":[-1.2,-1.4]},"P":{"shape":[1,6],"data":[0.6,0.8,-1.0,0.6,-0.3,0.3]}},"outputs":{"Y":{"shape":[2,1,1,2],"data":[-0.2682365,-0.1681188,-0.1915261,-0.1604848]},"Yh":{"shape":[1,1,2],"data":[-0.1915261,-0.1604848]},"Yc":{"shape":[1,1,2],"data":[-0.4895477,-0.776682]}}},
];

describe("RNN/GRU/LSTM option combinations against numpy", () => {
  for (const c of CASES) {
    it(`${c.kind} ${c.cfg.dir} layout=${c.cfg.layout}${c.cfg.lens ? " sequence_lens" : ""}${c.cfg.clip ? " clip" : ""}${c.cfg.lbr ? " linear_before_reset" : ""}${c.cfg.if ? " input_forget" : ""}${c.cfg.acts ? " activations" : ""}`, () => {
      const t = (k: string) => (c.inputs[k] ? f64(c.inputs[k]!.shape, c.inputs[k]!.data) : null);
      const lens = c.inputs["lens"] ? Tensor.fromNumbers("int32", c.inputs["lens"].shape, c.inputs["lens"].data) : null;
      const ins = [t("X"), t("W"), t("R"), t("B"), lens, t("h0")];
      if (c.kind === "LSTM") ins.push(t("c0"), t("P"));
      const attrs: Record<string, AttrValue> = { direction: c.cfg.dir, layout: c.cfg.layout, hidden_size: c.cfg.H };
      if (c.cfg.clip) attrs["clip"] = { float: c.cfg.clip };
      if (c.cfg.lbr) attrs["linear_before_reset"] = 1;
      if (c.cfg.if) attrs["input_forget"] = 1;
      if (c.cfg.acts) attrs["activations"] = c.cfg.acts;
      if (c.cfg.alpha) attrs["activation_alpha"] = { floats: c.cfg.alpha };
      if (c.cfg.beta) attrs["activation_beta"] = { floats: c.cfg.beta };
      const names = c.kind === "LSTM" ? ["Y", "Yh", "Yc"] : ["Y", "Yh"];
      const outs = run(c.kind, ins, attrs, 22, names);
      names.forEach((n, i) => close(outs[i]!, c.outputs[n]!.shape, c.outputs[n]!.data, 1e-6));
    });
  }
});

describe("recurrent inference", () => {
  it("keeps the symbolic batch and sequence dims, for both layouts", () => {
    const w = Tensor.zeros("float32", [2, 12, 4]);
    const r = Tensor.zeros("float32", [2, 12, 3]);
    assert.deepEqual(inferShapes("LSTM", ["S", "N", 4], [w, r], { direction: "bidirectional" }, 22, 3), [["S", 2, "N", 3], [2, "N", 3], [2, "N", 3]]);
    const wg = Tensor.zeros("float32", [1, 9, 4]);
    const rg = Tensor.zeros("float32", [1, 9, 3]);
    assert.deepEqual(inferShapes("GRU", ["N", "S", 4], [wg, rg], { layout: 1, hidden_size: 3 }, 22, 2), [["N", "S", 1, 3], ["N", 1, 3]]);
  });
});

describe("DFT", () => {
  const x = f32([1, 4, 1], [1, 2, 3, 4]);
  it("real input, full and onesided (opset 17 axis attribute)", () => {
    close(one("DFT", [x], { axis: 1 }, 17), [1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
    close(one("DFT", [x], { axis: 1, onesided: 1 }, 17), [1, 3, 2], [10, 0, -2, 2, -2, 0]);
  });
  it("opset 20 axis input (default -2) and dft_length truncation/padding", () => {
    close(one("DFT", [x, null, i64([1], [])], {}, 20), [1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
    close(one("DFT", [x], {}, 20), [1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
    close(one("DFT", [x, i64([2], [])], {}, 20), [1, 2, 2], [3, 0, -1, 0]);
    close(one("DFT", [f32([1, 2, 1], [1, 2]), i64([4], [])], {}, 20), [1, 4, 2], [3, 0, 1, -2, -1, 0, 1, 2]);
  });
  it("inverse of a complex spectrum, and irfft for inverse + onesided", () => {
    const spec = f32([1, 4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
    close(one("DFT", [spec], { inverse: 1 }, 20), [1, 4, 2], [1, 0, 2, 0, 3, 0, 4, 0]);
    const half = f32([1, 3, 2], [10, 0, -2, 2, -2, 0]);
    close(one("DFT", [half], { inverse: 1, onesided: 1 }, 20), [1, 4, 1], [1, 2, 3, 4]);
  });
  it("along a non-default axis", () => {
    // [2,2,1]: transform the last signal axis of each row.
    close(one("DFT", [f32([2, 2, 1], [1, 2, 3, 5]), null, i64([1], [])], {}, 20), [2, 2, 2], [3, 0, -1, 0, 8, 0, -2, 0]);
    close(one("DFT", [f32([2, 2, 1], [1, 2, 3, 5]), null, i64([0], [])], {}, 20), [2, 2, 2], [4, 0, 7, 0, -2, 0, -3, 0]);
  });
  it("infers symbolic batch with onesided", () => {
    assert.deepEqual(inferShapes("DFT", ["N", 10, 1], [], { onesided: 1 }, 20)[0], ["N", 6, 2]);
  });
});

describe("STFT", () => {
  it("frames without a window (rectangular), onesided", () => {
    const sig = f32([1, 5, 1], [1, 2, 3, 4, 5]);
    close(one("STFT", [sig, i64([2], []), null, i64([2], [])], {}, 17), [1, 2, 2, 2], [3, 0, -1, 0, 7, 0, -1, 0]);
  });
  it("applies the window", () => {
    const sig = f32([1, 4, 1], [1, 2, 3, 4]);
    close(one("STFT", [sig, i64([2], []), f32([2], [0.5, 1])], { onesided: 0 }, 17), [1, 2, 2, 2], [2.5, 0, -1.5, 0, 5.5, 0, -2.5, 0]);
  });
});

describe("window functions", () => {
  it("Hann periodic, Hamming symmetric, Blackman periodic as float64", () => {
    close(one("HannWindow", [scalar("int32", 4)], {}, 17), [4], [0, 0.5, 1, 0.5]);
    close(one("HammingWindow", [scalar("int32", 3)], { periodic: 0 }, 17), [3], [1 - 42 / 46, 1, 1 - 42 / 46]);
    const b = one("BlackmanWindow", [scalar("int64", 4)], { output_datatype: 11 }, 17);
    assert.equal(b.dtype, "float64");
    close(b, [4], [0, 0.34, 1, 0.34], 1e-12);
  });
});

describe("MelWeightMatrix", () => {
  it("one mel bin over 0..4000 Hz at 8 kHz with dft_length 8", () => {
    // Mel edges 0, 715.35, 1430.7 mel -> 0, 620.8, 1791.4 Hz -> bins floor(9*hz/8000) = 0, 0, 2.
    const out = one("MelWeightMatrix", [scalar("int32", 1), scalar("int32", 8), scalar("int32", 8000), scalar("float32", 0), scalar("float32", 4000)], {}, 17);
    close(out, [5, 1], [1, 0.5, 0, 0, 0]);
  });
});

describe("TfIdfVectorizer", () => {
  const x = Tensor.fromNumbers("int32", [12], [1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]);
  const pool = { ngram_counts: [0, 4], ngram_indexes: [0, 1, 2, 3, 4, 5, 6], pool_int64s: [2, 3, 5, 4, 5, 6, 7, 8, 6, 7] };
  it("bigrams only, no skip (spec example)", () => {
    close(one("TfIdfVectorizer", [x], { ...pool, mode: "TF", min_gram_length: 2, max_gram_length: 2, max_skip_count: 0 }, 9), [7], [0, 0, 0, 0, 1, 1, 1]);
  });
  it("unigrams counted once, skipped bigrams, and the three modes", () => {
    const y = i64([5, 6, 5], [1, 3]);
    const attrs = { ngram_counts: [0, 2], ngram_indexes: [0, 1, 2], pool_int64s: [5, 6, 5, 5], min_gram_length: 1, max_gram_length: 2, max_skip_count: 1 };
    close(one("TfIdfVectorizer", [y], { ...attrs, mode: "TF" }, 9), [1, 3], [2, 1, 1]);
    close(one("TfIdfVectorizer", [y], { ...attrs, mode: "IDF", weights: { floats: [2, 3, 4] } }, 9), [1, 3], [2, 3, 4]);
    close(one("TfIdfVectorizer", [y], { ...attrs, mode: "TFIDF", weights: { floats: [2, 3, 4] } }, 9), [1, 3], [4, 3, 4]);
  });
});

describe("ai.onnx.ml", () => {
  it("Binarizer", () => {
    close(one("ai.onnx.ml:Binarizer", [f32([4], [-1, 0, 0.5, 2])], { threshold: 0.5 }), [4], [0, 0, 0, 1]);
  });
  it("ArrayFeatureExtractor gathers from the last axis; a vector gives one row", () => {
    close(one("ai.onnx.ml:ArrayFeatureExtractor", [f32([2, 3], [1, 2, 3, 4, 5, 6]), i64([2, 0])]), [2, 2], [3, 1, 6, 4]);
    const r = one("ai.onnx.ml:ArrayFeatureExtractor", [i64([7, 8, 9]), i64([1])]);
    assert.equal(r.dtype, "int64");
    close(r, [1, 1], [8]);
  });
});

describe("Einsum", () => {
  const a = f64([2, 3], [1, 2, 3, 4, 5, 6]);
  it("matmul, transpose and implicit output", () => {
    close(one("Einsum", [a, f64([3, 2], [1, 0, 0, 1, 1, 1])], { equation: "ij,jk->ik" }), [2, 2], [4, 5, 10, 11]);
    close(one("Einsum", [a], { equation: "ij->ji" }), [3, 2], [1, 4, 2, 5, 3, 6]);
    close(one("Einsum", [a], { equation: "ba" }), [3, 2], [1, 4, 2, 5, 3, 6]);
    close(one("Einsum", [a, f64([3], [1, 1, 2])], { equation: "ij,j" }), [2], [9, 21]);
  });
  it("repeated indices: diagonal and trace", () => {
    const m = f64([2, 2], [1, 2, 3, 4]);
    close(one("Einsum", [m], { equation: "ii->i" }), [2], [1, 4]);
    close(one("Einsum", [m], { equation: "ii" }), [], [5]);
  });
  it("ellipsis broadcasting", () => {
    close(one("Einsum", [a, f64([3], [1, 0, -1])], { equation: "...i,...i->..." }), [2], [-2, -2]);
    const bt = f64([2, 1, 2], [1, 2, 3, 4]);
    close(one("Einsum", [bt], { equation: "...ij->...ji" }), [2, 2, 1], [1, 2, 3, 4]);
    close(one("Einsum", [f64([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8])], { equation: "...ii->...i" }), [2, 2], [1, 4, 5, 8]);
  });
  it("infers symbolic dims", () => {
    assert.deepEqual(inferShapes("Einsum", ["N", 3, 4], [Tensor.zeros("float32", [4, 5])], { equation: "bij,jk->bik" })[0], ["N", 3, 5]);
  });
});
