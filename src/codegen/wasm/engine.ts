/**
 * A typed view of the engine's global `WebAssembly` object, limited to what kiln uses. The
 * project's lib is ES2022 without DOM, and @types/node does not declare WebAssembly; a local
 * view avoids a global declaration that would clash once a DOM lib is added.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** A compiled module: opaque, but cloneable to workers. */
export type WasmModule = object;

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports?: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
  readonly Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
