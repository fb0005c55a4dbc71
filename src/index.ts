/** kiln's public entry point. */
export { InferenceSession, BACKENDS, type Backend, type SessionOptions } from "./api.js";
export { Tensor } from "./ir/tensor.js";
export { DTYPES, type DType } from "./ir/dtype.js";
export * from "./ir/errors.js";
export type { Model, Graph, Node, Attr } from "./ir/graph.js";
export { tuneNodeEngine } from "./codegen/wasm/features.js";
export { importOnnx } from "./frontend/onnx/import.js";
export { type Policy, type WavefrontOptions, opByOp, wavefront, wavefrontWith, simulate } from "./rammer/policies.js";
export { clustered } from "./rammer/clustered.js";
export { RProgram, type ROperator, type RTask } from "./rammer/program.js";
