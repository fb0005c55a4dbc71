/** `kiln run [model]`: compile and run a model, print each output's shape, dtype, a few values and the time. */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import npy from "npyjs";
import { InferenceSession, type Backend, type ExecutorKind } from "../api.js";
import { DTYPES, type DType } from "../ir/dtype.js";
import type { Model } from "../ir/graph.js";
import { InputError } from "../ir/errors.js";
import { randomTensor } from "../ir/random.js";
import { Tensor } from "../ir/tensor.js";
import { ZOO, isZooName } from "../zoo/index.js";

export interface RunOptions {
  readonly inputs: readonly string[];
  readonly json: boolean;
  readonly backend: Backend;
  readonly threads?: number;
  readonly executor?: ExecutorKind;
}

const NPY_DTYPES: Record<string, DType> = {
  f4: "float32", f8: "float64", i1: "int8", u1: "uint8", i2: "int16", u2: "uint16",
  i4: "int32", u4: "uint32", i8: "int64", u8: "uint64", b1: "bool",
};

async function loadNpy(path: string): Promise<Tensor> {
  const buf = await readFile(path);
  const arr = new npy().parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const dtype = NPY_DTYPES[arr.dtype];
  if (!dtype || !DTYPES.includes(dtype)) throw new InputError(`${path}: npy dtype ${arr.dtype} is not supported`);
  if (arr.fortranOrder) throw new InputError(`${path}: Fortran-order arrays are not supported`);
  const data = arr.data as unknown as ArrayLike<number>;
  if (dtype === "int64" || dtype === "uint64") return Tensor.fromBigInts(dtype, arr.shape, data as unknown as ArrayLike<bigint>);
  return Tensor.fromNumbers(dtype, arr.shape, Array.from(data, Number));
}

const DEFAULT_MODEL = "nasnet-a";

/** The model to run and its label: a file, a zoo model by name (a file of that name wins), or the default. */
export function resolveModel(model: string | undefined): { source: string | Model; label: string } {
  // The default: a zoo model whose parallel branches show what the executors do (compiles in seconds).
  if (model === undefined) return { source: ZOO[DEFAULT_MODEL].build(), label: `${DEFAULT_MODEL} (zoo, the default)` };
  if (isZooName(model) && !existsSync(model)) return { source: ZOO[model].build(), label: `${model} (zoo)` };
  return { source: model, label: model };
}

export async function runCommand(modelPath: string | undefined, opts: RunOptions): Promise<void> {
  const t0 = performance.now();
  const { source, label } = resolveModel(modelPath);
  const session = await InferenceSession.create(source, { backend: opts.backend, threads: opts.threads, executor: opts.executor });
  const loadMs = performance.now() - t0;
  const given = new Map<string, string>();
  for (const spec of opts.inputs) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new InputError(`--input expects name=file.npy or name=random, got "${spec}"`);
    given.set(spec.slice(0, eq), spec.slice(eq + 1));
  }
  const feeds: Record<string, Tensor> = {};
  let seed = 1;
  for (const meta of session.inputMetadata) {
    const src = given.get(meta.name);
    given.delete(meta.name);
    if (src !== undefined && src !== "random") {
      feeds[meta.name] = await loadNpy(src);
      continue;
    }
    if (meta.type.shape === null) throw new InputError(`input "${meta.name}" has unknown rank; give it with --input ${meta.name}=file.npy`);
    // Symbolic dimensions (a batch N, say) take 1 for random data.
    const shape = meta.type.shape.map((d) => (typeof d === "number" ? d : 1));
    feeds[meta.name] = randomTensor(meta.type.dtype, shape, seed++);
  }
  if (given.size > 0) throw new InputError(`model has no input named "${[...given.keys()][0]}"`);
  // The compiling backends compile on the first run, so a second run gives the run time alone.
  const timedRun = async () => {
    const t = performance.now();
    const out = await session.run(feeds);
    return { out, ms: performance.now() - t };
  };
  let outputs: Record<string, Tensor>, firstRunMs: number, runMs: number;
  try {
    const first = await timedRun();
    const again = opts.backend === "reference" ? first : await timedRun();
    [outputs, firstRunMs, runMs] = [again.out, first.ms, again.ms];
  } finally {
    await session.release();
  }
  const summary = Object.entries(outputs).map(([name, t]) => ({
    name, dtype: t.dtype, shape: [...t.shape],
    values: Array.from(t.numbers().slice(0, 8)),
  }));
  if (opts.json) {
    console.log(JSON.stringify({ model: label, backend: opts.backend, loadMs, firstRunMs, runMs, outputs: summary }));
    return;
  }
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const timing = opts.backend === "reference" ? `ran in ${ms(runMs)}` : `first run (compiling) ${ms(firstRunMs)}, then ran in ${ms(runMs)}`;
  console.log(`model ${label} on ${opts.backend}: loaded in ${ms(loadMs)}, ${timing}`);
  for (const o of summary) {
    console.log(`  ${o.name}: ${o.dtype}[${o.shape.join(",")}] ${o.values.map((v) => +v.toPrecision(6)).join(", ")}${outputs[o.name]!.size > 8 ? ", ..." : ""}`);
  }
}
