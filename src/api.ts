/**
 * The public API, shaped like onnxruntime-web's: `await InferenceSession.create(bytesOrPath)`,
 * then `await session.run({ name: tensor })` returns named tensors.
 */
import { readFile } from "node:fs/promises";

import { DTYPE_INFO } from "./ir/dtype.js";
import { InputError } from "./ir/errors.js";
import type { Model } from "./ir/graph.js";
import { Tensor } from "./ir/tensor.js";
import type { Dim, TensorType } from "./ir/types.js";
import { verifyGraph } from "./ir/verify.js";
import { importOnnx } from "./frontend/onnx/import.js";
import "./ops/index.js";
import { inferModel } from "./ops/inference.js";
import { runModel } from "./ops/interpreter.js";

export type Backend = "reference";
export const BACKENDS: readonly Backend[] = ["reference"];

export interface SessionOptions {
  /** Which executor runs the model (more arrive with the code generators). */
  readonly backend?: Backend;
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

export class InferenceSession {
  private constructor(
    readonly model: Model,
    private readonly options: SessionOptions,
  ) {}

  /** Load an ONNX model from bytes, a file path, or an already-built Model. */
  static async create(source: Uint8Array | ArrayBuffer | string | Model, options: SessionOptions = {}): Promise<InferenceSession> {
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
    if (typeof feeds !== "object" || feeds === null) throw new InputError("run() takes an object mapping input names to tensors");
    const bound = this.checkFeeds(feeds);
    const out = runModel(this.model, bound, { maxElements: this.options.maxElements, maxLoopIterations: this.options.maxLoopIterations });
    return Object.fromEntries(out);
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
      const t = feeds[v.name];
      if (t === undefined) throw new InputError(`input "${v.name}" is missing`);
      if (!(t instanceof Tensor)) throw new InputError(`input "${v.name}" must be a kiln Tensor`);
      if (t.dtype !== v.type.dtype) throw new InputError(`input "${v.name}" must be ${v.type.dtype}, got ${t.dtype}`);
      if (Object.getPrototypeOf(t.data) !== Object.getPrototypeOf(DTYPE_INFO[t.dtype].make(0))) {
        throw new InputError(`input "${v.name}": a ${t.dtype} tensor cannot hold its data in a ${t.data.constructor.name}`);
      }
      checkInputShape(v.name, v.type.shape, t.shape, symbols);
      bound.set(v.name, t);
    }
    return bound;
  }
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


