/**
 * The public API, shaped like onnxruntime-web's: `await InferenceSession.create(bytesOrPath)`,
 * then `await session.run({ name: tensor })` returns named tensors.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";

import { DTYPE_INFO } from "./ir/dtype.js";
import { InputError, SessionError, UnsupportedError } from "./ir/errors.js";
import type { Model } from "./ir/graph.js";
import { Tensor, shapeSize } from "./ir/tensor.js";
import type { Dim, TensorType } from "./ir/types.js";
import { verifyGraph } from "./ir/verify.js";
import { importOnnx } from "./frontend/onnx/import.js";
import "./ops/index.js";
import { inferModel } from "./ops/inference.js";
import { runModel } from "./ops/interpreter.js";
import { type CompiledModel, DATA_DEPENDENT_SHAPES, type RammerSchedule, compileModel, scheduleRammer } from "./compile.js";
import { conditionInputs } from "./passes/inline-if.js";
import type { Policy } from "./rammer/policies.js";
import { Executor } from "./runtime/executor.js";

/** `wasm`: generated WebAssembly SIMD kernels; `js`: the same kernels as JavaScript; `reference`: the interpreter. */
export type Backend = "wasm" | "js" | "reference";
export type ExecutorKind = "op-by-op" | "rammer";
export const EXECUTORS: readonly ExecutorKind[] = ["op-by-op", "rammer"];
export const BACKENDS: readonly Backend[] = ["wasm", "js", "reference"];

/**
 * Most threads a session may ask for: more threads than cores only time-slice, and each worker
 * costs its own wasm instance (megabytes of RSS), so 1000 would take gigabytes for nothing.
 */
export const MAX_THREADS = 64;

export interface SessionOptions {
  /** Which executor runs the model (default wasm). */
  readonly backend?: Backend;
  /** Worker threads for the generated kernels, counting the calling thread: an integer 1..MAX_THREADS (default: the core count). */
  readonly threads?: number;
  /**
   * How compiled kernels run: `op-by-op` splits each kernel across all workers with a barrier
   * after it; `rammer` plans rProgram launches at compile time (one wake-up per worker per launch).
   * The default is `rammer` on the wasm backend with more than one thread (in bench:rammer it
   * is within 2% of op-by-op or faster on every model, 1.3x on Seq2Seq), otherwise `op-by-op`.
   */
  readonly executor?: ExecutorKind;
  /** The Rammer executor's scheduling policy (default `clustered`; see src/rammer/clustered.ts and policies.ts). */
  readonly policy?: Policy;
  /**
   * Rammer only: every launch reads the clock after each rTask (a host call per task), so
   * `executor.lastTrace` holds the measured schedule of the last inference (`kiln inspect --schedule`).
   */
  readonly traceSchedule?: boolean;
  /** Largest tensor in the model file, in bytes. */
  readonly maxTensorBytes?: number;
  /** Largest intermediate tensor, in elements. */
  readonly maxElements?: number;
  /** Most iterations one Loop node may run (default 100000); a loop that would run on fails with a LimitError. */
  readonly maxLoopIterations?: number;
}

export interface ValueMetadata {
  readonly name: string;
  readonly type: TensorType;
}

/**
 * A model compiled for one binding of the input shapes, ready to run; or, for a model the
 * compiler cannot place in memory (data-dependent shapes), the reason it runs on the reference
 * interpreter instead.
 */
type Compiled =
  | { readonly kind: "compiled"; readonly compiled: CompiledModel; readonly executor: Executor; readonly rammer?: RammerSchedule }
  | { readonly kind: "reference"; readonly reason: string };

export class InferenceSession {
  /** Compiled programs by input shapes and If-deciding scalar inputs (models with symbolic dims compile per binding). */
  private readonly programs = new Map<string, Promise<Compiled>>();
  /** The inputs some If condition depends on (see isBoundValue). */
  private readonly decisive: ReadonlySet<string>;
  /** Set by release(): every run from then on rejects. */
  private released = false;

  private constructor(
    readonly model: Model,
    private readonly options: SessionOptions,
  ) {
    this.decisive = conditionInputs(model.graph);
  }

  get backend(): Backend {
    return this.options.backend ?? "wasm";
  }

  get threads(): number {
    return this.options.threads ?? availableParallelism();
  }

  /** The executor compiled programs run on (SessionOptions.executor). */
  get executor(): ExecutorKind {
    return this.options.executor ?? (this.backend === "wasm" && this.threads > 1 ? "rammer" : "op-by-op");
  }

  /** Load an ONNX model from bytes, a file path, or an already-built Model. */
  static async create(source: Uint8Array | ArrayBuffer | string | Model, options: SessionOptions = {}): Promise<InferenceSession> {
    checkOptions(options);
    let model: Model;
    if (typeof source === "string") model = importOnnx(await readModelFile(source), options);
    else if (source instanceof Uint8Array) model = importOnnx(source, options);
    else if (source instanceof ArrayBuffer) model = importOnnx(new Uint8Array(source), options);
    else {
      verifyGraph(source.graph);
      model = source;
    }
    return new InferenceSession(inferModel(model, { maxElements: options.maxElements }), options);
  }

  get inputNames(): string[] {
    return this.model.graph.inputs.map((v) => v.name);
  }

  get outputNames(): string[] {
    return this.model.graph.outputs.map((v) => v.name);
  }

  get inputMetadata(): ValueMetadata[] {
    return this.model.graph.inputs.map((v) => ({ name: v.name, type: v.type }));
  }

  get outputMetadata(): ValueMetadata[] {
    return this.model.graph.outputs.map((v) => ({ name: v.name, type: v.type }));
  }

  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    this.checkOpen();
    if (typeof feeds !== "object" || feeds === null) throw new InputError("run() takes an object mapping input names to tensors");
    const bound = this.checkFeeds(feeds);
    const interpret = () => Object.fromEntries(runModel(this.model, bound, this.limits));
    if (this.backend === "reference") return interpret();
    const c = await this.compiledFor(bound);
    this.checkOpen();
    if (c.kind === "reference") return interpret();
    return Object.fromEntries(await c.executor.run(bound));
  }

  private get limits(): { maxElements?: number; maxLoopIterations?: number } {
    return { maxElements: this.options.maxElements, maxLoopIterations: this.options.maxLoopIterations };
  }

  private checkOpen(): void {
    if (this.released) throw new SessionError("the session was released; create a new one to run the model");
  }

  /** The model as it compiles for these inputs: their dims bound, the scalar values that decide Ifs constants. */
  bound(feeds: ReadonlyMap<string, Tensor>): Model {
    return withBoundInputs(this.model, this.checkFeeds(Object.fromEntries(feeds)), this.decisive);
  }

  /** The compiled program for these inputs' shapes and If-deciding scalar values (compiling it on first use). */
  async compiledFor(feeds: ReadonlyMap<string, Tensor>): Promise<Compiled> {
    this.checkOpen();
    const backend = this.backend;
    if (backend === "reference") throw new InputError("the reference backend does not compile");
    const key = this.model.graph.inputs.map((v) => {
      const t = feeds.get(v.name)!;
      return isBoundValue(v.name, t, this.decisive) ? `${t.shape.join("x")}=${t.numbers()[0]}` : t.shape.join("x");
    }).join(";");
    let p = this.programs.get(key);
    if (!p) {
      p = (async (): Promise<Compiled> => {
        let compiled: CompiledModel;
        try {
          compiled = await compileModel(this.bound(feeds), backend, { layersApart: this.executor === "rammer" });
        } catch (e) {
          if (e instanceof UnsupportedError && e.feature === DATA_DEPENDENT_SHAPES) return { kind: "reference", reason: e.message };
          throw e;
        }
        if (this.executor !== "rammer") return { kind: "compiled", compiled, executor: await Executor.create(compiled.program, this.threads, this.limits) };
        const rammer = await scheduleRammer(compiled, this.threads, this.options.policy, this.options.traceSchedule ?? false);
        return { kind: "compiled", compiled, rammer, executor: await Executor.create(rammer.program, this.threads, this.limits) };
      })();
      this.programs.set(key, p);
    }
    return p;
  }

  /**
   * What runs on the reference interpreter instead of generated code, one line per node (`op:
   * reason`) over the programs compiled so far; a model that could not be compiled at all
   * gives one line for the whole model.
   */
  async fallbacks(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.programs.values()) {
      const c = await p;
      if (c.kind === "reference") out.push(`model: ${c.reason}`);
      else for (const r of c.compiled.nodes) if (r.kind === "reference") out.push(`${r.op}: ${r.reason}`);
    }
    return out;
  }

  /**
   * Stop the worker threads; every run afterwards rejects with a SessionError. Compiles in
   * flight finish first (their workers are then stopped too), and so do inferences already running.
   */
  async release(): Promise<void> {
    this.released = true;
    const all = [...this.programs.values()];
    this.programs.clear();
    await Promise.all(all.map(async (p) => {
      const c = await p.catch(() => undefined);
      if (c?.kind === "compiled") await c.executor.close();
    }));
  }

  /** Check names, dtypes and shapes of the inputs; symbolic dims must bind consistently. */
  private checkFeeds(feeds: Readonly<Record<string, Tensor>>): Map<string, Tensor> {
    const g = this.model.graph;
    const symbols = new Map<string, number>();
    for (const name of Object.keys(feeds)) {
      if (!g.inputs.some((v) => v.name === name)) {
        throw new InputError(`model has no input named "${name}" (inputs: ${this.inputNames.map((n) => `"${n}"`).join(", ")})`);
      }
    }
    const bound = new Map<string, Tensor>();
    for (const v of g.inputs) {
      const t = checkTensor(v.name, feeds[v.name]);
      if (t.dtype !== v.type.dtype) throw new InputError(`input "${v.name}" must be ${v.type.dtype}, got ${t.dtype}`);
      checkInputShape(v.name, v.type.shape, t.shape, symbols);
      bound.set(v.name, t);
    }
    return bound;
  }
}

/**
 * A feed checked field by field and copied: a Tensor's fields can be reassigned and an object
 * can pose as one (Object.create(Tensor.prototype)), and kiln sizes its copy into the shared
 * memory by the shape, so a shape that disagrees with the data would write past the input's
 * buffer. The copy holds the fields as checked, whatever the caller changes while the run waits.
 */
function checkTensor(name: string, t: unknown): Tensor {
  if (t === undefined) throw new InputError(`input "${name}" is missing`);
  if (!(t instanceof Tensor)) throw new InputError(`input "${name}" must be a kiln Tensor`);
  const { dtype, shape, data } = t;
  if (typeof dtype !== "string" || !Object.hasOwn(DTYPE_INFO, dtype)) throw new InputError(`input "${name}": unknown dtype ${String(dtype)}`);
  if (!Array.isArray(shape)) throw new InputError(`input "${name}": shape must be an array of dimensions`);
  const dims: number[] = [...shape];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InputError(`input "${name}": invalid dimension ${String(d)} in shape [${dims.join(",")}]`);
  }
  if (!ArrayBuffer.isView(data) || Object.getPrototypeOf(data) !== Object.getPrototypeOf(DTYPE_INFO[dtype].make(0))) {
    throw new InputError(`input "${name}": a ${dtype} tensor cannot hold its data in a ${(data as object | null)?.constructor?.name ?? String(data)}`);
  }
  const n = shapeSize(dims);
  if (data.length !== n) throw new InputError(`input "${name}" of shape [${dims.join(",")}] needs ${n} elements, its data has ${data.length}`);
  return new Tensor(dtype, dims, data);
}

/** Options are checked at create: a bad one would otherwise fail deep in the runtime, or not at all. */
function checkOptions(options: SessionOptions): void {
  if (typeof options !== "object" || options === null) throw new InputError("session options must be an object");
  const known = new Set<string>(["backend", "threads", "executor", "policy", "traceSchedule", "maxTensorBytes", "maxElements", "maxLoopIterations"]);
  for (const key of Object.keys(options)) if (!known.has(key)) throw new InputError(`unknown session option "${key}" (options: ${[...known].join(", ")})`);
  const { backend, threads, executor, policy, traceSchedule } = options;
  if (backend !== undefined && !BACKENDS.includes(backend)) throw new InputError(`backend must be one of ${BACKENDS.join(", ")}, got ${String(backend)}`);
  if (executor !== undefined && !EXECUTORS.includes(executor)) throw new InputError(`executor must be one of ${EXECUTORS.join(", ")}, got ${String(executor)}`);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new InputError(`threads must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  }
  if (policy !== undefined && typeof policy !== "function") throw new InputError("policy must be a Rammer scheduling policy (a function; see rammer/policies.ts)");
  if (traceSchedule !== undefined && typeof traceSchedule !== "boolean") throw new InputError(`traceSchedule must be a boolean, got ${String(traceSchedule)}`);
  for (const key of ["maxTensorBytes", "maxElements", "maxLoopIterations"] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw new InputError(`${key} must be a positive integer, got ${String(v)}`);
  }
}

/**
 * An integer or bool input of one element that an If condition reads (a sample rate, a flag) is
 * compiled as a constant, and its value is part of the program's key like the dims: the If then
 * resolves at compile time (inline-if) and runs as straight-line kernels, and another value
 * compiles another program, so a changed condition never runs the branch compiled for the last.
 * Scalars that decide no If stay inputs: binding a step counter would recompile on every step.
 */
function isBoundValue(name: string, t: Tensor, decisive: ReadonlySet<string>): boolean {
  return decisive.has(name) && (DTYPE_INFO[t.dtype].isInt || t.dtype === "bool") && t.size === 1;
}

/**
 * The model with its inputs' symbolic dims bound to the given tensors' shapes, its If-deciding
 * scalar inputs turned into initializers holding the given values, and inferred again.
 */
function withBoundInputs(model: Model, feeds: ReadonlyMap<string, Tensor>, decisive: ReadonlySet<string>): Model {
  const g = model.graph;
  const initializers = new Map(g.initializers);
  const inputs = g.inputs.flatMap((v) => {
    const t = feeds.get(v.name)!;
    if (isBoundValue(v.name, t, decisive)) {
      initializers.set(v.name, t);
      return [];
    }
    return [{ ...v, type: { dtype: v.type.dtype, shape: [...t.shape] } }];
  });
  return inferModel({ ...model, graph: { ...g, inputs, initializers, valueTypes: new Map() } });
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InputError(`cannot read model file "${path}": ${(e as Error).message}`);
  }
}

function checkInputShape(name: string, want: readonly Dim[] | null, got: readonly number[], symbols: Map<string, number>): void {
  if (want === null) return;
  const show = `[${want.join(",")}]`;
  if (want.length !== got.length) {
    throw new InputError(`input "${name}" must have rank ${want.length} ${show}, got shape [${got.join(",")}]`);
  }
  want.forEach((d, i) => {
    const g = got[i]!;
    if (typeof d === "number") {
      if (d !== g) throw new InputError(`input "${name}" must have shape ${show}, got [${got.join(",")}] (dimension ${i})`);
    } else if (!d.startsWith("_")) {
      const prev = symbols.get(d);
      if (prev !== undefined && prev !== g) {
        throw new InputError(`input "${name}": dimension ${i} is ${d}=${g}, but ${d}=${prev} elsewhere`);
      }
      symbols.set(d, g);
    }
  });
}


