/**
 * The fuzz cases: case `index` of seed `seed` is a pure function of the two, so a run is
 * reproducible from its seed, and one case from its (seed, index).
 */
import { rng } from "../src/ir/random.js";
import { CURATED, loadSample, modelsOf, type Source } from "./corpus.js";
import { BYTE_KINDS, mutate, pick, STRUCTURED_KINDS, type Sample } from "./mutations.js";

export interface FuzzCase {
  readonly index: number;
  /** The mutation's seed (also seeds the absurd and wrong inputs). */
  readonly seed: number;
  readonly source: Source;
  readonly model: string;
  readonly kind: string;
  readonly description: string;
  readonly bytes: Uint8Array;
  readonly sample: Sample;
}

/** Mutations that mostly get past loading and reach inference and evaluation: drawn more often. */
const DEEP = ["opTypeSwap", "attrValueAbsurd", "attrWrongType", "tensorValuesAbsurd", "inputDimChanged", "inputElemTypeSwap", "valueInfoAbsurd", "kilnDomainOp"];
const KINDS = [...BYTE_KINDS, ...STRUCTURED_KINDS, ...DEEP, ...DEEP];

/** Heavy models (224x224 CNNs, OCR, VAD, BlazeFace) take a small share: they run for seconds. */
function pickSource(r: () => number): Source {
  const x = r();
  return x < 0.02 ? "light" : x < 0.04 ? "npm" : "node";
}

export function caseSeed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

export function makeCase(seed: number, index: number): FuzzCase {
  const s = caseSeed(seed, index);
  const r = rng(s);
  const source = pickSource(r);
  // Half the node cases from the curated set that runs on the reference backend: they get deepest.
  const model = source === "node" && r() < 0.5 ? pick(r, CURATED)! : pick(r, modelsOf(source))!;
  const sample = loadSample(source, model);
  const other = loadSample("node", pick(r, CURATED)!);
  // A mutation may not apply (no attributes to abuse...): draw another, deterministically.
  for (;;) {
    const kind = pick(r, KINDS)!;
    const m = mutate(sample, kind, s, other);
    if (m === null) continue;
    return { index, seed: s, source, model, kind, description: `${source} ${model}: ${kind}: ${m.what} (seed ${s})`, bytes: m.bytes, sample };
  }
}
