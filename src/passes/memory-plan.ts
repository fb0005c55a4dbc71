/**
 * Static memory planning. Given a graph (normally the fused graph) with its nodes in wave order
 * (graph-utils `waveOrder`), every value a node produces gets an offset in one activation arena:
 *   - lifetimes are measured in waves, not in steps: a value lives from its producer's wave to its
 *     last reader's wave (graph outputs to the end). Two values share memory only when one's last
 *     reader is in an earlier wave than the other's producer, so the writer of the second never
 *     has to wait for a node of its own wave or a later one: nodes a parallel scheduler would run
 *     side by side stay independent (Rammer), and running the nodes in order is still correct;
 *   - a kernel may write its output over an input that it alone reads in its wave and that dies
 *     there, has the same shape, and is read only elementwise (in-place), so the two share one buffer;
 *   - buffers are placed greedily, each in the smallest gap left by the buffers whose lifetimes
 *     overlap it (best fit), under a few orders (largest first, ...), keeping the best plan.
 * Weights (initializers) live apart from the arena and are not planned. Shapes with symbols give
 * a plan per binding of the symbols: `planMemory(graph, { N: 8 })`.
 */
import { DTYPE_INFO } from "../ir/dtype.js";
import { evalDim } from "../ir/dim.js";
import { InternalError, ModelError } from "../ir/errors.js";
import { subgraphsOf, type Graph, type Node } from "../ir/graph.js";
import { NONDETERMINISTIC_OPS, patternOf } from "../ops/registry.js";
import { nodeReads, waves } from "./graph-utils.js";

/** Buffers start on 64-byte boundaries (a cache line, and enough for SIMD loads). */
export const ALIGNMENT = 64;

export interface PlannedBuffer {
  /** The values stored here, in order (more than one when kernels run in place). */
  readonly values: readonly string[];
  readonly offset: number;
  readonly bytes: number;
  /** First and last wave (graph-utils `waves`) in which the buffer is live. */
  readonly start: number;
  readonly end: number;
}

export interface MemoryPlan {
  readonly arenaBytes: number;
  /** The largest total size of buffers live at one step: no plan can use less. */
  readonly lowerBoundBytes: number;
  /** Every value of the planned graph in a buffer of its own. */
  readonly naiveBytes: number;
  readonly buffers: readonly PlannedBuffer[];
  /** Value -> arena offset. */
  readonly offsets: ReadonlyMap<string, number>;
}

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

/**
 * Values that are weights: initializers, and outputs of nodes computed from weights alone (a
 * ConstantOfShape too large to fold, say). They live with the weights, not in the arena.
 */
export function constantValues(g: Graph): Set<string> {
  const out = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) {
    if (!NONDETERMINISTIC_OPS.has(n.op) && subgraphsOf(n).length === 0 && n.inputs.every((v) => v === "" || out.has(v))) {
      for (const o of n.outputs) if (o !== "") out.add(o);
    }
  }
  return out;
}

/** Every intermediate value of a graph in its own buffer (no fusion, no reuse): the baseline. */
export function naiveBytes(g: Graph, symbols: Readonly<Record<string, number>> = {}): number {
  const weights = constantValues(g);
  let total = 0;
  for (const n of g.nodes) for (const o of n.outputs) {
    if (o === "" || weights.has(o)) continue;
    const t = g.valueTypes.get(o) ?? g.outputs.find((v) => v.name === o)?.type;
    const n = t?.shape?.reduce<number | undefined>((acc, d) => {
      const x = evalDim(d, symbols);
      return acc === undefined || x === undefined ? undefined : acc * x;
    }, 1);
    if (t === undefined || n === undefined) throw new ModelError(`memory planning: value "${o}" has no known size`);
    total += align(n * DTYPE_INFO[t.dtype].bytes);
  }
  return total;
}

const ELEMENTWISE = new Set(["elementwise", "broadcast"]);
const ANCHORS = new Set(["out-elementwise-fusable", "reduction"]);

/**
 * The inputs a kernel reads only at the index it writes, so its output may overwrite them: any
 * input of an elementwise op, and of a fused function the inputs that only its elementwise
 * members read (the residual of a Conv + Add + Relu epilogue, say). Shapes are checked by the caller.
 */
function inPlaceInputs(n: Node): string[] {
  if (n.op === "kiln:Fused") {
    const body = n.attrs["body"];
    if (body?.type !== "graph") return [];
    // Only an anchor followed by elementwise ops writes each output element from the same index
    // of its elementwise inputs; an injective member (a Transpose, say) would move elements.
    const nodes = body.value.nodes;
    const anchors = nodes.filter((m) => !ELEMENTWISE.has(patternOf(m)));
    if (anchors.length > 1 || anchors.some((a) => !ANCHORS.has(patternOf(a)))) return [];
    // Members feeding the anchor (Exp before a ReduceSum, say) are read at every index the
    // reduction needs, not only at the one being written.
    const feeding = new Set<Node>();
    const visit = (m: Node) => {
      for (const v of m.inputs) {
        const p = nodes.find((q) => q.outputs.includes(v));
        if (p && !feeding.has(p)) { feeding.add(p); visit(p); }
      }
    };
    anchors.forEach(visit);
    return n.inputs.filter((x) => nodes.every((m) => !m.inputs.includes(x) || (ELEMENTWISE.has(patternOf(m)) && !feeding.has(m))));
  }
  return ELEMENTWISE.has(patternOf(n)) ? [...n.inputs] : [];
}

interface Chain {
  values: string[];
  bytes: number;
  start: number;
  end: number;
}

/** Place buffers in the given order, each in the smallest gap among those live at the same time. */
function placeBestFit(chains: readonly Chain[]): PlannedBuffer[] {
  const placed: PlannedBuffer[] = [];
  for (const c of chains) {
    const busy = placed.filter((p) => p.start <= c.end && c.start <= p.end).sort((a, b) => a.offset - b.offset);
    let best = -1, bestGap = Infinity, cursor = 0;
    for (const p of busy) {
      const gap = p.offset - cursor;
      if (gap >= c.bytes && gap < bestGap) { best = cursor; bestGap = gap; }
      cursor = Math.max(cursor, p.offset + p.bytes);
    }
    placed.push({ values: c.values, offset: best >= 0 ? best : cursor, bytes: c.bytes, start: c.start, end: c.end });
  }
  return placed;
}

export interface PlanOptions {
  /**
   * Whether values of different waves may share memory (default true). Without, every buffer is
   * its own: a scheduler may then run a recurrent layer far ahead of the layer above it, which
   * shared buffers would forbid (the layer would overwrite what the other has yet to read).
   */
  readonly reuse?: boolean;
}

export function planMemory(g: Graph, symbols: Readonly<Record<string, number>> = {}, { reuse = true }: PlanOptions = {}): MemoryPlan {
  const bytesOf = (v: string): number => {
    const t = g.valueTypes.get(v) ?? g.outputs.find((o) => o.name === v)?.type;
    if (!t || t.shape === null) throw new ModelError(`memory planning: value "${v}" has no known shape`);
    let n = 1;
    for (const d of t.shape) {
      const x = evalDim(d, symbols);
      if (x === undefined) throw new ModelError(`memory planning: value "${v}" has dimension ${d}; bind its symbols`);
      n *= x;
    }
    return align(n * DTYPE_INFO[t.dtype].bytes);
  };

  const typeKey = (v: string) => {
    const t = g.valueTypes.get(v);
    return t && t.shape ? `${t.dtype}[${t.shape.join(",")}]` : undefined;
  };
  const sameType = (a: string, b: string) => typeKey(a) !== undefined && typeKey(a) === typeKey(b);

  const weights = constantValues(g);
  const wave = waves(g.nodes);
  if (wave.some((w, i) => i > 0 && w < wave[i - 1]!)) throw new InternalError("memory planning: the nodes are not in wave order");
  const end = wave.length === 0 ? 0 : wave[wave.length - 1]! + 1;
  const def = new Map<string, number>();
  const lastUse = new Map<string, number>();
  /** Readers of each value in its last reader's wave. */
  const lastReaders = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) if (o !== "" && !weights.has(o)) def.set(o, wave[i]!);
    for (const v of new Set(nodeReads(n))) {
      if (!def.has(v)) continue;
      lastReaders.set(v, lastUse.get(v) === wave[i] ? lastReaders.get(v)! + 1 : 1);
      lastUse.set(v, wave[i]!);
    }
  });
  for (const v of g.outputs) if (def.has(v.name)) lastUse.set(v.name, end);
  const graphOutputs = new Set(g.outputs.map((v) => v.name));

  // Buffers as chains of values; an in-place output joins the chain of the input it overwrites.
  const chains: Chain[] = [];
  const chainOf = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    const at = wave[i]!;
    const inPlaceCandidates = inPlaceInputs(n).filter((x) => def.has(x) && lastUse.get(x) === at && lastReaders.get(x) === 1 && !graphOutputs.has(x));
    for (const o of n.outputs) {
      if (o === "" || weights.has(o)) continue;
      const bytes = bytesOf(o);
      const last = lastUse.get(o) ?? at;
      const reuse = inPlaceCandidates.find((x) => {
        const c = chains[chainOf.get(x)!]!;
        return c.bytes === bytes && c.end === at && sameType(x, o);
      });
      if (reuse !== undefined) {
        const k = chainOf.get(reuse)!;
        chains[k]!.values.push(o);
        chains[k]!.end = last;
        chainOf.set(o, k);
        inPlaceCandidates.splice(inPlaceCandidates.indexOf(reuse), 1);
      } else {
        chainOf.set(o, chains.length);
        chains.push({ values: [o], bytes, start: at, end: last });
      }
    }
  });

  if (!reuse) for (const c of chains) [c.start, c.end] = [0, end];
  // Greedy best fit under a few orders (largest first, longest-lived first, earliest first); keep the best.
  const orders: ((a: Chain, b: Chain) => number)[] = [
    (a, b) => b.bytes - a.bytes || a.start - b.start,
    (a, b) => b.end - b.start - (a.end - a.start) || b.bytes - a.bytes,
    (a, b) => a.start - b.start || b.bytes - a.bytes,
  ];
  let placed: PlannedBuffer[] = [];
  let arena = Infinity;
  for (const order of orders) {
    const attempt = placeBestFit([...chains].sort(order));
    const size = attempt.reduce((m, p) => Math.max(m, p.offset + p.bytes), 0);
    if (size < arena) [placed, arena] = [attempt, size];
  }

  let lowerBound = 0;
  for (let t = 0; t <= end; t++) {
    let live = 0;
    for (const c of chains) if (c.start <= t && t <= c.end) live += c.bytes;
    lowerBound = Math.max(lowerBound, live);
  }
  const naive = naiveBytes(g, symbols);
  const offsets = new Map<string, number>();
  for (const p of placed) for (const v of p.values) offsets.set(v, p.offset);
  return { arenaBytes: arena, lowerBoundBytes: lowerBound, naiveBytes: naive, buffers: placed, offsets };
}
