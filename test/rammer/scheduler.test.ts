/** The rProgram and its policies on random operator DAGs: every dependency is honoured, waits are minimal, wavefront beats op-by-op on wide graphs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rng } from "../../src/ir/random.js";
import { clustered, clustersOf, planClusters, RELOAD_MS_PER_BYTE } from "../../src/rammer/clustered.js";
import { planLaunch } from "../../src/rammer/launch.js";
import { granularities, opByOp, simulate, wavefront } from "../../src/rammer/policies.js";
import { type ROperator, RProgram, taskKey } from "../../src/rammer/program.js";

/**
 * A random DAG: each op depends on up to `fanIn` earlier ops; costs scale sublinearly with
 * splitting. Some ops read one of three sets of weights (so clusters form and cross each other).
 */
function randomOps(seed: number, n: number, veus: number, fanIn = 2): ROperator[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, id) => {
    const deps = id === 0 ? [] : [...new Set(Array.from({ length: 1 + Math.floor(r() * fanIn) }, () => Math.floor(r() * id)))];
    const base = 1 + r() * 9;
    const weights = r() < 0.5 ? { weights: { offset: Math.floor(r() * 3) << 20, bytes: 1 << 20 } } : {};
    return { id, deps, inputs: deps.filter(() => r() < 0.7), cost: new Map(granularities(veus).map((s) => [s, base / s + 0.3])), ...weights };
  });
}

/**
 * A stack of `layers` recurrent layers over `steps` steps as LSTM-TC lowers, in milliseconds:
 * per layer and block of 10 steps an input projection (a product over the layer's input weights,
 * reading the layer below's cells of those steps), then per step a product over the layer's
 * recurrent weights (reading the projection and the previous cell) and a cell without weights.
 */
function stackedRnn(layers: number, steps: number): ROperator[] {
  const ops: ROperator[] = [];
  const add = (inputs: number[], c1: number, c2: number, weights?: number) => {
    ops.push({ id: ops.length, deps: inputs, inputs, cost: new Map([[1, c1], [2, c2]]), ...(weights === undefined ? {} : { weights: { offset: weights << 20, bytes: 1 << 20 } }) });
    return ops.length - 1;
  };
  const cell: number[][] = Array.from({ length: layers }, () => []);
  for (let b = 0; b < steps; b += 10) {
    for (let l = 0; l < layers; l++) {
      const projection = add(l === 0 ? [] : cell[l - 1]!.slice(b, b + 10), 0.3, 0.16, 2 * l);
      for (let t = b; t < b + 10; t++) {
        const product = add([projection, ...(t > 0 ? [cell[l]![t - 1]!] : [])], 0.014, 0.0072, 2 * l + 1);
        cell[l]![t] = add([product], 0.003, 0.002);
      }
    }
  }
  return ops;
}

/** Every task of an op runs after every task of each dependency: same vEU earlier, or a wait covers it. */
function assertHonoured(p: RProgram, ops: readonly ROperator[]): void {
  const where = new Map<string, { veu: number; count: number; op: number }>();
  p.lists.forEach((list, v) => {
    let count = 0;
    for (const e of list) if (e.kind === "task") where.set(taskKey(e.task), { veu: v, count: ++count, op: e.task.op });
  });
  const tasksOf = (op: number) => [...where.entries()].filter(([, w]) => w.op === op);
  for (const op of ops) {
    const mine = tasksOf(op.id);
    assert.ok(mine.length >= 1, `op ${op.id} has no tasks`);
    const shares = Number(mine[0]![0].split("/")[1]);
    assert.equal(mine.length, shares, `op ${op.id} runs ${mine.length} of its ${shares} tasks`);
    for (const [key, t] of mine) {
      const list = p.lists[t.veu]!;
      let count = 0;
      const waited = new Map<number, number>();
      for (const e of list) {
        if (e.kind === "wait") waited.set(e.veu, Math.max(waited.get(e.veu) ?? 0, e.count));
        else if (taskKey(e.task) === key) break;
        else count++;
      }
      for (const d of op.deps) {
        for (const [dk, dt] of tasksOf(d)) {
          const ok = dt.veu === t.veu ? dt.count <= count : (waited.get(dt.veu) ?? 0) >= dt.count;
          assert.ok(ok, `task ${key} on vEU ${t.veu} may start before ${dk} on vEU ${dt.veu}`);
        }
      }
    }
  }
}

describe("rProgram", () => {
  it("keeps only waits that cross vEUs and are not implied", () => {
    const p = new RProgram(2);
    const a = { op: 0, share: 0, shares: 1 }, b = { op: 1, share: 0, shares: 1 }, c = { op: 2, share: 0, shares: 1 };
    p.append(a, 0);
    p.wait(0, [a]); // same vEU: order implies it
    p.append(b, 0);
    p.wait(1, [a]);
    p.append(c, 1);
    p.wait(1, [a]); // already waited for that many tasks of vEU 0
    assert.equal(p.waits, 1);
    assert.throws(() => p.append(a, 1), /twice/);
    assert.throws(() => p.wait(1, [{ op: 9, share: 0, shares: 1 }]), /never appended/);
  });

  const clustersAlone = (ops: readonly ROperator[], veus: number) => planClusters(ops, veus, clustersOf(ops) ?? ops.map((o) => o.id));
  for (const [name, policy] of Object.entries({ wavefront, opByOp, clustered, clustersAlone })) {
    it(`${name}: every dependency is honoured and nothing deadlocks on random DAGs (1-4 vEUs)`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        const veus = 1 + (seed % 4);
        const ops = randomOps(seed, 5 + (seed % 30), veus, 1 + (seed % 4));
        const p = policy(ops, veus);
        assertHonoured(p, ops);
        assert.ok(simulate(p, ops).makespan > 0);
      }
    });
  }

  it("wavefront places independent operators side by side: fewer waits and a shorter makespan than op-by-op on wide graphs", () => {
    // Eight independent chains of small operators (an RNN's or a NASNet cell's branches).
    const ops: ROperator[] = [];
    for (let chain = 0; chain < 8; chain++) {
      for (let step = 0; step < 10; step++) {
        const id = ops.length;
        const deps = step === 0 ? [] : [id - 1];
        ops.push({ id, deps, inputs: deps, cost: new Map([[1, 1], [2, 0.8], [4, 0.7]]) });
      }
    }
    const order = [...ops].sort((a, b) => (a.id % 10) - (b.id % 10) || a.id - b.id);
    const [w, o] = [wavefront(order, 4), opByOp(order, 4)];
    assertHonoured(w, ops);
    assert.ok(w.waits < o.waits / 5, `wavefront ${w.waits} waits, op-by-op ${o.waits}`);
    assert.ok(simulate(w, ops).makespan < simulate(o, ops).makespan, "wavefront is not faster");
  });

  it("wavefront splits a heavy branch beside a light one instead of leaving a vEU idle (SqueezeNet's expand convolutions)", () => {
    // A stem, then a 3x3 branch nine times the cost of its 1x1 sibling; both split well.
    const cost = (c: number) => new Map([[1, c], [2, c / 2 + 0.01]]);
    const ops: ROperator[] = [
      { id: 0, deps: [], inputs: [], cost: cost(1) },
      { id: 1, deps: [0], inputs: [0], cost: cost(9) },
      { id: 2, deps: [0], inputs: [0], cost: cost(1) },
      { id: 3, deps: [1, 2], inputs: [1, 2], cost: cost(1) },
    ];
    const w = wavefront(ops, 2);
    assertHonoured(w, ops);
    const shares = w.lists.flat().filter((e) => e.kind === "task" && e.task.op === 1).length;
    assert.equal(shares, 2, "the heavy branch runs as one task");
    // Side by side would take 1 + 9 + 1 (the heavy branch alone on one vEU); split, about 6.5.
    assert.ok(simulate(w, ops).makespan < 7, `makespan ${simulate(w, ops).makespan}`);
  });

  it("clustered keeps each recurrent layer on one vEU: a fraction of the wavefront's waits, and faster once reloading weights costs", () => {
    const ops = stackedRnn(6, 100);
    const cluster = clustersOf(ops)!;
    assert.equal(new Set(cluster).size, 6, "one cluster per layer");
    const p = clustered(ops, 2), w = wavefront(ops, 2);
    assertHonoured(p, ops);
    const veusOf = (l: number) => new Set(p.lists.flatMap((list, v) => list.some((e) => e.kind === "task" && e.task.shares === 1 && cluster[e.task.op] === cluster[2 * l]) ? [v] : []));
    for (let l = 0; l < 6; l++) assert.equal(veusOf(l).size, 1, `layer ${l} runs whole tasks on ${veusOf(l).size} vEUs`);
    assert.ok(p.waits * 4 < w.waits, `clustered ${p.waits} waits, wavefront ${w.waits}`);
    const [mine, theirs] = [simulate(p, ops, RELOAD_MS_PER_BYTE).makespan, simulate(w, ops, RELOAD_MS_PER_BYTE).makespan];
    assert.ok(mine < theirs, `clustered ${mine}, wavefront ${theirs}`);
    // Two layers on two vEUs: about half the work each, not one layer after the other.
    assert.ok(mine < 0.6 * ops.reduce((t, o) => t + o.cost.get(1)!, 0), `makespan ${mine}`);
  });

  it("clustered is the wavefront where no weights are read twice, or where the wavefront finishes first", () => {
    const ops = randomOps(7, 30, 2).map(({ weights: _, ...o }) => o);
    assert.equal(clustersOf(ops), undefined);
    assert.deepEqual(clustered(ops, 2).lists, wavefront(ops, 2).lists);
    // One layer: its chain cannot use a second vEU except by splitting every step.
    const one = stackedRnn(1, 30);
    assert.deepEqual(clustered(one, 2).lists, wavefront(one, 2).lists);
  });

  it("a launch's operators know their inputs (the latest writers of what they read) and their weights (what no operator writes)", () => {
    const range = (offset: number, bytes: number) => ({ offset, bytes });
    const access = [
      { reads: [range(0, 4096)], writes: [range(8192, 64)] }, // weights at 0
      { reads: [range(8192, 64)], writes: [range(8256, 64)] },
      { reads: [range(4096, 128), range(8256, 64)], writes: [range(8192, 64)] }, // reuses kernel 0's output buffer
      { reads: [range(8192, 128)], writes: [range(8320, 64)] }, // kernel 2's output and kernel 1's
    ];
    const { ops } = planLaunch([0, 1, 2, 3], access, () => 1, granularities(2), 2, wavefront);
    assert.deepEqual(ops.map((o) => o.inputs), [[], [0], [1], [1, 2]]);
    assert.deepEqual(ops[2]!.deps, [0, 1], "overwriting what kernel 1 read orders it after kernel 1, not an input of kernel 0");
    assert.deepEqual(ops.map((o) => o.weights), [range(0, 4096), undefined, range(4096, 128), undefined]);
  });
});
