/**
 * The fuzzer's seed models and their inputs: ONNX node tests (a curated set over most op
 * families, plus the whole core list), the light ImageNet CNNs and the npm models of the
 * benchmark. Heavy models (light and npm) run with larger limits and a longer time cap.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { suite } from "../bench/models/suite.js";
import { makeFeeds, type InputOverride } from "../bench/models/inputs.js";
import { dtypeFromOnnx } from "../src/ir/dtype.js";
import { onnx } from "../src/frontend/onnx/proto.js";
import { decodeTensor } from "../src/frontend/onnx/tensor.js";
import { LIGHT, NODE_TESTS, SHARED } from "../test/helpers.js";
import type { Sample } from "./mutations.js";

export type Source = "node" | "light" | "npm";

/** Small node tests over most op families, all passing on the reference backend. */
export const CURATED = [
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

/** Every core node test (many kiln does not support: those mostly give typed errors early). */
export const CORE: readonly string[] = readFileSync(join(SHARED, "onnx", "core-tests.txt"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "");

export const LIGHT_MODELS: readonly string[] = readdirSync(LIGHT).filter((f) => f.endsWith(".onnx")).sort().map((f) => basename(f, ".onnx"));

/** The benchmark's npm models, each file once (the suite runs the text detector at two sizes; the smaller here). */
const NPM: readonly { name: string; path: string; inputs: Readonly<Record<string, InputOverride>> }[] = (() => {
  const seen = new Set<string>();
  const out = [];
  for (const m of suite().reverse()) {
    if (!("path" in m.source) || m.source.path.startsWith(LIGHT) || seen.has(m.source.path)) continue;
    seen.add(m.source.path);
    out.push({ name: m.name, path: m.source.path, inputs: m.inputs ?? {} });
  }
  return out.reverse();
})();
export const NPM_MODELS: readonly string[] = NPM.map((m) => m.name);

export function modelsOf(source: Source): readonly string[] {
  return source === "node" ? CORE : source === "light" ? LIGHT_MODELS : NPM_MODELS;
}

const cache = new Map<string, Sample>();

/** A seed model with its inputs, by source and name (cached: the parent loads each once). */
export function loadSample(source: Source, name: string): Sample {
  const key = `${source}/${name}`;
  let s = cache.get(key);
  if (!s) {
    s = source === "node" ? loadNodeTest(name) : source === "light" ? declaredInputs(name, join(LIGHT, `${name}.onnx`), {}) : loadNpm(name);
    cache.set(key, s);
  }
  return s;
}

function loadNodeTest(name: string): Sample {
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

function loadNpm(name: string): Sample {
  const m = NPM.find((x) => x.name === name);
  if (!m) throw new Error(`no npm model ${JSON.stringify(name)}`);
  return declaredInputs(name, m.path, m.inputs);
}

/** Seeded inputs of the declared dtypes and shapes (the suite's shape for a symbolic dim, else 1). */
function declaredInputs(name: string, path: string, overrides: Readonly<Record<string, InputOverride>>): Sample {
  const bytes = new Uint8Array(readFileSync(path));
  const g = onnx.ModelProto.decode(bytes).graph!;
  const stored = new Set((g.initializer ?? []).map((t) => t.name));
  const specs = (g.input ?? []).filter((v) => !stored.has(v.name)).map((v, i) => {
    const o = overrides[v.name ?? ""] ?? {};
    const t = v.type!.tensorType!;
    const shape = o.shape ?? (t.shape?.dim ?? []).map((d) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : 1));
    return { name: v.name ?? "", dtype: dtypeFromOnnx(t.elemType ?? 1), shape, seed: i + 1, ...o };
  });
  return { name, bytes, inputs: Object.values(makeFeeds(specs)) };
}
