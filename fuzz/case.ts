/**
 * One fuzz case on kiln, inside a fuzz child: create a session from the mutated bytes, run it
 * with the seed model's own inputs, inputs conformed to the declared types, absurd values and
 * wrong inputs, and classify. On a compiled backend every run is repeated on the reference
 * interpreter, and a disagreement (or one side failing) is a `mismatch`.
 */
import { InferenceSession, type Backend } from "../src/api.js";
import { DTYPE_INFO, DTYPES } from "../src/ir/dtype.js";
import { KilnError } from "../src/ir/errors.js";
import { randomTensor, rng } from "../src/ir/random.js";
import { shapeSize, Tensor } from "../src/ir/tensor.js";
import { onnx } from "../src/frontend/onnx/proto.js";
import { ABSURD_FLOATS, ABSURD_INTS, int, pick, type Rand } from "./mutations.js";

/** A tensor as plain data, which crosses the process boundary (structured clone). */
export interface WireTensor {
  readonly dtype: Tensor["dtype"];
  readonly shape: readonly number[];
  readonly data: Tensor["data"];
}
export type Feeds = Record<string, WireTensor>;

export const toWire = (t: Tensor): WireTensor => ({ dtype: t.dtype, shape: [...t.shape], data: t.data });
export const fromWire = (t: WireTensor): Tensor => new Tensor(t.dtype, t.shape, t.data);
const feedsToWire = (f: Record<string, Tensor>): Feeds => Object.fromEntries(Object.entries(f).map(([k, t]) => [k, toWire(t)]));

export interface KilnOptions {
  readonly backend: Backend;
  readonly threads: number;
  readonly maxTensorBytes: number;
  readonly maxElements: number;
}

export type KilnClass = "ok" | "typed" | "untyped" | "mismatch";

export interface ErrorInfo {
  readonly name: string;
  readonly message: string;
  /** The top stack frames inside kiln's src/ (the failure's signature with the name). */
  readonly frames: readonly string[];
}

export interface KilnResult {
  readonly class: KilnClass;
  /** Where the deciding failure happened: create, or which inputs. */
  readonly stage: string;
  readonly error?: ErrorInfo;
  /** The feeds each run used, for onnxruntime-node to run the same ones. */
  readonly feeds: readonly Feeds[];
}

export function errorInfo(e: unknown): ErrorInfo {
  if (!(e instanceof Error)) return { name: typeof e, message: String(e).slice(0, 300), frames: [] };
  const frames = (e.stack ?? "").split("\n").filter((l) => l.includes("/src/")).slice(0, 3)
    .map((l) => l.trim().replace(/^at /, "").replace(/\(?file:\/\/\S*?\/(src\/\S+?)\)?$/, "$1").replace(/^(\S+) (src\/)/, "$1 $2"));
  return { name: e.name, message: e.message.slice(0, 300), frames };
}

// ---- running ----

/** The test's own inputs, bound to the session's inputs by position. */
function ownFeeds(s: InferenceSession, inputs: readonly Tensor[]): Record<string, Tensor> {
  return Object.fromEntries(s.inputNames.map((n, i) => [n, inputs[i] ?? inputs[0] ?? Tensor.scalar("float32", 0)]));
}

/** Inputs reshaped and retyped to what the session declares, so that mutated types reach the ops. */
function conformedFeeds(s: InferenceSession, inputs: readonly Tensor[], seed: number): Record<string, Tensor> {
  return Object.fromEntries(s.inputMetadata.map((v, i) => {
    const own = inputs[i] ?? Tensor.scalar("float32", 1);
    const shape = v.type.shape?.map((d, k) => (typeof d === "number" ? d : own.shape[k] ?? 1)) ?? own.shape;
    const t = shape.every((d) => d >= 0) && shapeSize(shape) <= 4096 && shapeSize(shape) !== own.size
      ? randomTensor(v.type.dtype, shape, seed + i, -3, 3)
      : Tensor.fromNumbers(v.type.dtype, own.size === shapeSize(shape) ? shape : own.shape, own.numbers());
    return [v.name, t];
  }));
}

/** The test's own inputs with absurd values: indices, shapes and counts far out of range, NaNs. */
function absurdFeeds(s: InferenceSession, inputs: readonly Tensor[], r: Rand): Record<string, Tensor> {
  const feeds = ownFeeds(s, inputs);
  const name = pick(r, s.inputNames);
  if (name === undefined) return feeds;
  const t = feeds[name]!;
  if (t.size === 0) return feeds;
  const v = t.numbers();
  const bad = DTYPE_INFO[t.dtype].isFloat ? ABSURD_FLOATS : ABSURD_INTS;
  if (r() < 0.5) v[int(r, v.length)] = pick(r, bad)!;
  else v.fill(pick(r, bad)!);
  feeds[name] = Tensor.fromNumbers(t.dtype, t.shape, v);
  return feeds;
}

/** Inputs of the wrong shape or dtype. */
function wrongFeeds(s: InferenceSession, inputs: readonly Tensor[], r: Rand): Record<string, Tensor> {
  const feeds = ownFeeds(s, inputs);
  const name = pick(r, s.inputNames);
  if (name === undefined) return { bogus: Tensor.scalar("float32", 0) };
  const t = feeds[name]!;
  const kind = int(r, 5);
  if (kind === 0) feeds[name] = Tensor.fromNumbers(pick(r, DTYPES.filter((d) => d !== t.dtype))!, t.shape, t.numbers());
  else if (kind === 1) feeds[name] = t.reshape([...t.shape, 1]);
  else if (kind === 2) feeds[name] = t.reshape([t.size]);
  else if (kind === 3) feeds[name] = randomTensor(t.dtype, t.shape.map((d) => d + 1 + int(r, 2)), 7);
  else delete feeds[name];
  return feeds;
}

/** Ops whose outputs are random: compared by shape and dtype only. */
const RANDOM_OPS = /^(Random|Bernoulli|Dropout|Multinomial)/;

function hasRandomOps(bytes: Uint8Array): boolean {
  try {
    const m = onnx.ModelProto.decode(bytes);
    const graphs = [m.graph];
    const nodes = [];
    while (graphs.length > 0) {
      const g = graphs.pop();
      for (const n of g?.node ?? []) {
        nodes.push(n);
        for (const a of n.attribute ?? []) graphs.push(a.g, ...(a.graphs ?? []));
      }
    }
    return nodes.some((n) => RANDOM_OPS.test(n.opType ?? ""));
  } catch {
    return true; // undecodable: kiln cannot have created a session from it either
  }
}

/**
 * Why two runs' outputs differ, or null. NaN equals NaN, integers and bools exactly, floats within
 * rtol 1e-3 plus atol 1e-4 times the largest finite magnitude of the output (1e-2 for 16-bit floats).
 * With `overflow` (the inputs hold floats so large that intermediates overflow, float32 ones
 * where the reference's float64 ones do not, or one side's order of operations where the other's
 * does not) an infinity, zero or NaN may stand for a finite value on either side.
 */
export function disagreement(got: Record<string, Tensor>, want: Record<string, Tensor>, values: boolean, overflow = false): string | null {
  const names = Object.keys(want);
  if (Object.keys(got).sort().join() !== [...names].sort().join()) return `outputs ${JSON.stringify(Object.keys(got))} vs ${JSON.stringify(names)}`;
  for (const name of names) {
    const a = got[name]!, b = want[name]!;
    const what = JSON.stringify(name);
    if (a.dtype !== b.dtype) return `${what}: dtype ${a.dtype} vs ${b.dtype}`;
    if (a.shape.join() !== b.shape.join()) return `${what}: shape [${a.shape}] vs [${b.shape}]`;
    if (!values) continue;
    if (!DTYPE_INFO[a.dtype].isFloat) {
      const x = Array.from(a.data as ArrayLike<number | bigint>, String), y = Array.from(b.data as ArrayLike<number | bigint>, String);
      const i = x.findIndex((v, k) => v !== y[k]);
      if (i >= 0) return `${what}[${i}]: ${x[i]} vs ${y[i]}`;
      continue;
    }
    const x = a.numbers(), y = b.numbers();
    let scale = 0;
    for (const v of y) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const rtol = DTYPE_INFO[a.dtype].bytes <= 2 ? 1e-2 : 1e-3;
    for (let i = 0; i < x.length; i++) {
      const p = x[i]!, q = y[i]!;
      if (Object.is(p, q) || (Number.isNaN(p) && Number.isNaN(q))) continue;
      if (Number.isFinite(p) && Number.isFinite(q) && Math.abs(p - q) <= rtol * Math.abs(q) + 1e-4 * scale) continue;
      const standIn = (v: number) => !Number.isFinite(v) || v === 0;
      if (overflow && standIn(p) !== standIn(q)) continue;
      return `${what}[${i}]: ${p} vs ${q}`;
    }
  }
  return null;
}

/** Whether float32 arithmetic on these feeds can overflow where float64 does not (a square of 1e19 does). */
const overflows = (feeds: Record<string, Tensor>) =>
  Object.values(feeds).some((t) => DTYPE_INFO[t.dtype].isFloat && t.numbers().some((v) => Number.isFinite(v) && Math.abs(v) >= 1e18));

const RANK: Record<KilnClass, number> = { ok: 0, typed: 1, untyped: 2, mismatch: 3 };

/** Run one case; never throws (a throw here would be the fuzzer's own bug, reported by the child). */
export async function runKilnCase(bytes: Uint8Array, inputs: readonly Tensor[], seed: number, o: KilnOptions): Promise<KilnResult> {
  const r = rng(seed);
  const feeds: Feeds[] = [];
  const options = { backend: o.backend, threads: o.threads, maxTensorBytes: o.maxTensorBytes, maxElements: o.maxElements };
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, options);
  } catch (e) {
    return { class: e instanceof KilnError ? "typed" : "untyped", stage: "create", error: errorInfo(e), feeds };
  }
  const reference = o.backend === "reference" ? null : await InferenceSession.create(bytes, { ...options, backend: "reference" }).catch((e: unknown) => e);
  const values = !hasRandomOps(bytes);
  // The case's class is its worst failure; without one, ok when any run succeeded.
  let worst: KilnResult | null = null;
  let ran = false;
  const note = (c: "untyped" | "mismatch", stage: string, error: ErrorInfo) => {
    if (worst === null || RANK[c] > RANK[worst.class]) worst = { class: c, stage, feeds, error };
  };
  const runs: [string, () => Record<string, Tensor>][] = [
    ["own inputs", () => ownFeeds(session, inputs)],
    ["conformed inputs", () => conformedFeeds(session, inputs, seed)],
    ["absurd inputs", () => absurdFeeds(session, inputs, r)],
    ["wrong inputs", () => wrongFeeds(session, inputs, r)],
  ];
  try {
    for (const [stage, make] of runs) {
      let f: Record<string, Tensor>;
      try {
        f = make();
      } catch (e) {
        // Building feeds goes through kiln's Tensor API, which must fail typed too.
        if (!(e instanceof KilnError)) note("untyped", `${stage} (making feeds)`, errorInfo(e));
        continue;
      }
      feeds.push(feedsToWire(f));
      const got = await session.run(f).then((out) => ({ out }), (e: unknown) => ({ e }));
      if ("e" in got && !(got.e instanceof KilnError)) {
        note("untyped", stage, errorInfo(got.e));
        continue;
      }
      ran ||= "out" in got;
      if (reference === null) continue;
      if (!(reference instanceof InferenceSession)) {
        note("mismatch", stage, { name: "Mismatch", message: `the reference backend fails at create (${errorInfo(reference).name}: ${errorInfo(reference).message}) where ${o.backend} creates`, frames: errorInfo(reference).frames });
        continue;
      }
      const want = await reference.run(f).then((out) => ({ out }), (e: unknown) => ({ e }));
      if ("e" in want && !(want.e instanceof KilnError)) {
        note("untyped", `${stage} (reference)`, errorInfo(want.e));
        continue;
      }
      if ("out" in got && "out" in want) {
        const why = disagreement(got.out, want.out, values, overflows(f));
        if (why) note("mismatch", stage, { name: "Mismatch", message: `${o.backend} vs reference: ${why}`, frames: [] });
      } else if ("out" in got !== "out" in want) {
        const failed = "e" in got ? got.e : "e" in want ? want.e : undefined;
        const info = errorInfo(failed);
        note("mismatch", stage, { name: "Mismatch", message: `${"e" in got ? o.backend : "reference"} fails (${info.name}: ${info.message}) where ${"e" in got ? "reference" : o.backend} runs`, frames: info.frames });
      }
    }
  } finally {
    await session.release().catch(() => undefined);
    if (reference instanceof InferenceSession) await reference.release().catch(() => undefined);
  }
  return worst ?? { class: ran ? "ok" : "typed", stage: ran ? "run" : "every run", feeds };
}
