/**
 * The inputs a command runs or compiles a model with: `--input name=file.npy|random|NUMBER` gives
 * an input's value (a number fills it: a sample rate, a flag), `--input-shape name=1x3x640x640`
 * its shape (binding its symbolic dims), and every other input gets seeded random data of its
 * declared shape with symbolic dims taken as 1.
 */
import { readFile } from "node:fs/promises";
import npy from "npyjs";
import type { ValueMetadata } from "../api.js";
import { DTYPES, type DType } from "../ir/dtype.js";
import { InputError } from "../ir/errors.js";
import { randomTensor } from "../ir/random.js";
import { Tensor, shapeSize } from "../ir/tensor.js";

export interface FeedOptions {
  /** `name=file.npy`, `name=random` or `name=NUMBER`. */
  readonly inputs: readonly string[];
  /** `name=DxDx...` (a scalar: `name=`). */
  readonly shapes: readonly string[];
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

/** `name=value` options by name; each name must be an input of the model and given once. */
function byName(specs: readonly string[], flag: string, expects: string, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new InputError(`${flag} expects ${expects}, got "${spec}"`);
    const name = spec.slice(0, eq);
    if (!names.includes(name)) throw new InputError(`${flag} ${spec}: model has no input named "${name}" (inputs: ${names.map((n) => `"${n}"`).join(", ")})`);
    if (out.has(name)) throw new InputError(`${flag} gives input "${name}" twice`);
    out.set(name, spec.slice(eq + 1));
  }
  return out;
}

function parseShape(name: string, text: string): number[] {
  const dims = text === "" ? [] : text.split("x").map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new InputError(`--input-shape ${name}=${text}: dims must be non-negative integers separated by x`);
  return dims;
}

export async function buildFeeds(inputs: readonly ValueMetadata[], opts: FeedOptions): Promise<Map<string, Tensor>> {
  const names = inputs.map((m) => m.name);
  const values = byName(opts.inputs, "--input", "name=file.npy, name=random or name=NUMBER", names);
  const shapes = new Map([...byName(opts.shapes, "--input-shape", "name=DxDx... (e.g. x=1x3x224x224)", names)].map(([n, s]) => [n, parseShape(n, s)]));
  const feeds = new Map<string, Tensor>();
  let seed = 1;
  for (const meta of inputs) {
    const src = values.get(meta.name);
    if (src !== undefined && src.endsWith(".npy")) {
      feeds.set(meta.name, await loadNpy(src));
      continue;
    }
    const given = shapes.get(meta.name);
    if (!given && meta.type.shape === null) throw new InputError(`input "${meta.name}" has unknown rank; give its shape with --input-shape ${meta.name}=DxDx...`);
    // Symbolic dimensions (a batch N, say) take 1 unless --input-shape binds them.
    const shape = given ?? meta.type.shape!.map((d) => (typeof d === "number" ? d : 1));
    if (src === undefined || src === "random") {
      feeds.set(meta.name, randomTensor(meta.type.dtype, shape, seed++));
      continue;
    }
    const v = Number(src);
    if (src.trim() === "" || Number.isNaN(v)) throw new InputError(`--input ${meta.name}=${src}: expected a .npy file, random or a number`);
    feeds.set(meta.name, Tensor.fromNumbers(meta.type.dtype, shape, new Array<number>(shapeSize(shape)).fill(v)));
  }
  return feeds;
}
