/**
 * The WebAssembly binary emitter: kiln's own checked assembler (no binaryen). Build a module
 * with `ModuleBuilder`, fill each function through its `FunctionBuilder` (which type-checks
 * every instruction as it is emitted), then `finish()` to bytes. See `opcodes.ts` for the
 * instruction table, `wat.ts` to print what was built, `features.ts` for engine detection.
 */
export { ModuleBuilder, type MemoryImport } from "./module.js";
export { FunctionBuilder, type FuncRef, type Imm, type Instr, type Label, type Local, type MemArg } from "./function.js";
export { BASELINE, OPS, type OpName, type PlainOp, type ValType, type WasmFeatures } from "./opcodes.js";
export { detectFeatures } from "./features.js";
export { printFunction, printModule } from "./wat.js";
export { wasm, type WasmInstance, type WasmMemory, type WasmModule } from "./engine.js";
