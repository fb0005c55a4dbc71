/**
 * The `clustered` policy, kiln's default: for a launch in which several operators read the same
 * weights (an unrolled recurrent layer: one matrix-vector product per step over the same R), it
 * keeps each layer on one vEU, so the layer's weights stay in that core's cache and its chain of
 * steps needs no synchronisation at all. It compares that plan with the wavefront's under a cost
 * model that charges for reloading weights (`simulate`'s `reloadMsPerByte`) and keeps its own
 * only when it finishes clearly first.
 *
 * A cluster is what one layer computes: the operators reading one set of weights, operators
 * reading weights joined with those whose results they read when those read weights too (a
 * layer's batched input projection with its recurrent steps), and an operator without weights
 * with the operator whose result it reads last (a step's gates with its product). Clusters go to
 * vEUs by list scheduling in simulated time: a vEU runs what can start at once, oldest cluster
 * first, so it finishes one layer before taking the next; a cluster is bound to the vEU that runs
 * its first operator. An operator that would leave every other vEU idle (nothing of theirs can
 * start before it ends: the first layer's input projection, the last layer's last steps) is
 * split across all of them instead.
 *
 * LSTM-TC on 2 vEUs (one run, same process): 15.9 ms and 167 synchronisations per inference,
 * against the wavefront's 22.9 ms and 911, because each core keeps its layer's 1 MB of recurrent
 * weights in its 2 MB L2; the wavefront's splits make each core read half of every layer's
 * weights at every step.
 */
import { InternalError } from "../ir/errors.js";
import { type Policy, simulate, wavefront } from "./policies.js";
import { type ROperator, RProgram, type RTask } from "./program.js";

/** Weights smaller than this are left out of clusters: they stay in cache whatever the order. */
export const CLUSTER_MIN_WEIGHT_BYTES = 64 * 1024;

/**
 * What reloading a byte of weights costs (ms): a task whose weights differ from its vEU's previous
 * weighted task's reads its share of them again from the last-level cache. ~8 µs per MB: an RNN
 * step's half product takes 7 µs with its weights in L2 and 11 µs when every step interleaves layers.
 */
export const RELOAD_MS_PER_BYTE = 8e-3 / (1 << 20);

/**
 * The clusters' plan must beat the wavefront's by this factor to be kept: the cost model is rough.
 * Seq2Seq's simulate to 1.34 ms against the wavefront's 1.40, yet run in 1.79 ms against 1.53
 * (many short cross-vEU steps whose waits the model charges nothing for); LSTM-TC's simulate to
 * 14.8 against 17.9 and run in 16 against 23.
 */
const CLEAR_WIN = 0.9;

/** A finer split must gain this fraction of an operator's time to pay for its waits. */
const SPLIT_GAIN = 0.1;

export const clustered: Policy = (ops, veus) => {
  const cluster = clustersOf(ops);
  const alternative = wavefront(ops, veus);
  if (cluster === undefined || veus < 2) return alternative;
  const own = planClusters(ops, veus, cluster);
  const time = (p: RProgram) => simulate(p, ops, RELOAD_MS_PER_BYTE).makespan;
  return time(own) < CLEAR_WIN * time(alternative) ? own : alternative;
};

/** Each operator's cluster (the lowest operator id in it), or undefined when no weights are read twice. */
export function clustersOf(ops: readonly ROperator[]): number[] | undefined {
  const key = ops.map((o) => (o.weights && o.weights.bytes >= CLUSTER_MIN_WEIGHT_BYTES ? o.weights.offset : undefined));
  const parent = ops.map((o) => o.id);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]!]!;
    return x;
  };
  const union = (a: number, b: number) => {
    const [x, y] = [find(a), find(b)];
    if (x !== y) parent[Math.max(x, y)] = Math.min(x, y);
  };
  const firstReader = new Map<number, number>();
  let recurs = false;
  for (const o of ops) {
    const k = key[o.id];
    if (k !== undefined) {
      const first = firstReader.get(k);
      if (first === undefined) firstReader.set(k, o.id);
      else { union(o.id, first); recurs = true; }
      for (const d of o.inputs) if (key[d] !== undefined) union(o.id, d);
    } else if (o.inputs.length > 0) union(o.id, Math.max(...o.inputs));
  }
  return recurs ? ops.map((o) => find(o.id)) : undefined;
}

/** The clusters' own plan (`clustered` keeps it only when it beats the wavefront's). */
export function planClusters(ops: readonly ROperator[], veus: number, cluster: readonly number[]): RProgram {
  const p = new RProgram(veus);
  const succ: number[][] = ops.map(() => []);
  for (const o of ops) for (const d of o.deps) succ[d]!.push(o.id);
  const cost = (o: ROperator, shares: number) => o.cost.get(shares)!;
  const free = new Array<number>(veus).fill(0);
  const finish = new Array<number>(ops.length).fill(0);
  const placed: RTask[][] = ops.map(() => []);
  const bound = new Map<number, number>();
  const missing = ops.map((o) => o.deps.length);
  const ready = new Set(ops.filter((o) => o.deps.length === 0).map((o) => o.id));
  const startOn = (id: number, v: number) => Math.max(free[v]!, ...ops[id]!.deps.map((d) => finish[d]!));
  const allowed = (id: number, v: number) => (bound.get(cluster[id]!) ?? v) === v;
  const byFree = [...free.keys()];

  for (let left = ops.length; left > 0;) {
    // The vEU free first that has anything it may run (a cluster bound to it, or an unbound one):
    // what it can start soonest, oldest cluster first, then program order.
    byFree.sort((a, b) => free[a]! - free[b]! || a - b);
    let v = 0, best: { id: number; start: number } | undefined;
    for (const u of byFree) {
      for (const id of ready) {
        if (!allowed(id, u)) continue;
        const start = startOn(id, u);
        if (best === undefined || before([start, cluster[id]!, id], [best.start, cluster[best.id]!, best.id])) best = { id, start };
      }
      v = u;
      if (best) break;
    }
    if (best === undefined) throw new InternalError("clustered: no operator is ready");
    const { id, start } = best;
    const op = ops[id]!;
    const preds = op.deps.flatMap((d) => placed[d]!);
    const othersIdle = free.every((b, u) => u === v || (b <= start && ![...ready].some((r) => r !== id && allowed(r, u) && startOn(r, u) < start + cost(op, 1))));
    if (othersIdle && cost(op, veus) < (1 - SPLIT_GAIN) * cost(op, 1)) {
      const end = Math.max(start, ...free) + cost(op, veus);
      for (let u = 0; u < veus; u++) append({ op: id, share: u, shares: veus }, u, end);
    } else {
      append({ op: id, share: 0, shares: 1 }, v, start + cost(op, 1));
      if (!bound.has(cluster[id]!)) bound.set(cluster[id]!, v);
    }
    ready.delete(id);
    left--;
    for (const s of succ[id]!) if (--missing[s] === 0) ready.add(s);

    function append(task: RTask, u: number, end: number) {
      p.wait(u, preds);
      p.append(task, u);
      placed[id]!.push(task);
      free[u] = finish[id] = end;
    }
  }
  return p;
}

/** Lexicographic order on tuples of numbers. */
function before(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
