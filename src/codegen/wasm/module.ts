/**
 * The module builder: interned function types, one imported memory (shared across worker
 * threads when `shared`), imported functions, functions and exports, assembled into a binary
 * by `finish()`.
 */
import { InternalError } from "../../ir/errors.js";
import { name, section, u32, vec } from "./encoding.js";
import { FunctionBuilder, type FuncRef } from "./function.js";
import { BASELINE, VALTYPE_CODE, type ValType, type WasmFeatures } from "./opcodes.js";

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  /** Sizes in 64 KiB pages. A shared memory must declare its maximum. */
  readonly min: number;
  readonly max?: number;
  readonly shared: boolean;
}

/** A function the host provides; imports take the first function indices. */
export interface FunctionImport { readonly module: string; readonly name: string; readonly ref: FuncRef }

const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const EXTERN = { func: 0x00, memory: 0x02 } as const;

export class ModuleBuilder {
  private readonly types: { readonly params: readonly ValType[]; readonly results: readonly ValType[] }[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly funcs: FunctionBuilder[] = [];
  private readonly funcImports: FunctionImport[] = [];
  private readonly exportList: { name: string; func: FunctionBuilder }[] = [];
  private memoryImport?: MemoryImport;

  /** `features` is what the target engine supports; instructions outside it are refused. */
  constructor(readonly features: WasmFeatures = BASELINE) {}

  get memory(): MemoryImport | undefined {
    return this.memoryImport;
  }

  get functions(): readonly FunctionBuilder[] {
    return this.funcs;
  }

  get functionImports(): readonly FunctionImport[] {
    return this.funcImports;
  }

  get exports(): readonly { readonly name: string; readonly func: FunctionBuilder }[] {
    return this.exportList;
  }

  importMemory(m: { module?: string; name?: string; min: number; max?: number; shared?: boolean }): void {
    if (this.memoryImport) throw new InternalError("wasm module: memory imported twice");
    const mem = { module: m.module ?? "env", name: m.name ?? "memory", min: m.min, max: m.max, shared: m.shared ?? false };
    if (mem.shared && mem.max === undefined) throw new InternalError("wasm module: a shared memory needs a maximum size");
    if (mem.max !== undefined && mem.max < mem.min) throw new InternalError(`wasm module: memory max ${mem.max} < min ${mem.min}`);
    this.memoryImport = mem;
  }

  /** Imports a host function; before any function is declared, as imports come first in the index space. */
  importFunction(module: string, fnName: string, params: readonly ValType[], results: readonly ValType[]): FuncRef {
    if (this.funcs.length > 0) throw new InternalError(`wasm module: import ${module}.${fnName} after a function was declared`);
    if (this.funcImports.some((f) => f.module === module && f.name === fnName)) throw new InternalError(`wasm module: import ${module}.${fnName} twice`);
    this.typeIndex(params, results);
    const ref: FuncRef = { index: this.funcImports.length, name: `${module}.${fnName}`, paramTypes: params.slice(), results: results.slice() };
    this.funcImports.push({ module, name: fnName, ref });
    return ref;
  }

  /** Declares a function; its body is built on the returned builder and closed with finish(). */
  function(fnName: string, params: readonly ValType[], results: readonly ValType[]): FunctionBuilder {
    const fn = this.draft(fnName, params, results);
    this.adopt(fn);
    return fn;
  }

  /**
   * A function built outside the index space: it takes the next index only if `adopt`ed, so a
   * body can be built, compared with others and dropped (compile-kernels.ts shares equal
   * kernel bodies). Nothing can call a draft until it is adopted.
   */
  draft(fnName: string, params: readonly ValType[], results: readonly ValType[]): FunctionBuilder {
    this.typeIndex(params, results);
    const ctx = {
      features: this.features,
      blockType: (r: readonly ValType[]) => this.typeIndex([], r),
      owns: (fn: FuncRef) => this.funcs[fn.index - this.funcImports.length] === fn || this.funcImports.some((f) => f.ref === fn),
    };
    return new FunctionBuilder(ctx, undefined, fnName, params, results);
  }

  adopt(fn: FunctionBuilder): void {
    if (this.funcs.some((f) => f.name === fn.name)) throw new InternalError(`wasm module: function $${fn.name} declared twice`);
    fn.place(this.funcImports.length + this.funcs.length);
    this.funcs.push(fn);
  }

  export(func: FunctionBuilder, exportName = func.name): void {
    if (this.exportList.some((e) => e.name === exportName)) throw new InternalError(`wasm module: export "${exportName}" twice`);
    this.exportList.push({ name: exportName, func });
  }

  finish(): Uint8Array {
    for (const f of this.funcs) {
      if (!f.finished) throw new InternalError(`wasm module: function $${f.name} was not finished`);
      if (f.usesMemory && !this.memoryImport) throw new InternalError(`wasm module: $${f.name} uses memory, but none is imported`);
    }
    const valtypes = (ts: readonly ValType[]) => vec(ts.map((t) => [VALTYPE_CODE[t]]));
    const types = this.types.map((t) => [0x60, ...valtypes(t.params), ...valtypes(t.results)]);
    const m = this.memoryImport;
    const imports = [
      ...(m ? [[...name(m.module), ...name(m.name), EXTERN.memory, ...limits(m)]] : []),
      ...this.funcImports.map((f) => [...name(f.module), ...name(f.name), EXTERN.func, ...u32(this.typeIndex(f.ref.paramTypes, f.ref.results))]),
    ];
    const funcTypes = this.funcs.map((f) => u32(this.typeIndex(f.paramTypes, f.results)));
    const exports = this.exportList.map((e) => [...name(e.name), EXTERN.func, ...u32(e.func.index)]);
    return new Uint8Array([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
      ...section(SECTION.type, vec(types)),
      ...(imports.length ? section(SECTION.import, vec(imports)) : []),
      ...section(SECTION.function, vec(funcTypes)),
      ...section(SECTION.export, vec(exports)),
      ...section(SECTION.code, vec(this.funcs.map((f) => f.encode()))),
    ]);
  }

  /** Interns a function type, so equal signatures share one index. */
  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    let i = this.typeKeys.get(key);
    if (i === undefined) {
      i = this.types.push({ params: params.slice(), results: results.slice() }) - 1;
      this.typeKeys.set(key, i);
    }
    return i;
  }
}

/** Memory limits: flag 0 = min only, 1 = min and max, 3 = shared with min and max. */
function limits(m: MemoryImport): number[] {
  if (m.max === undefined) return [0x00, ...u32(m.min)];
  return [m.shared ? 0x03 : 0x01, ...u32(m.min), ...u32(m.max)];
}
