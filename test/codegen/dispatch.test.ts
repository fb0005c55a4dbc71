/**
 * A Rammer launch's dispatch function (dispatch.ts) gives its thread back when a wait takes too
 * long, and resumes exactly where it stopped: the host's thread must never be held inside wasm
 * by a vEU that does not come (a dead worker), and no task may run twice.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { emitDispatch } from "../../src/codegen/wasm/dispatch.js";
import { ModuleBuilder } from "../../src/codegen/wasm/module.js";
import { tunedFeatures } from "../helpers.js";

const COUNTERS = 256, STRIDE = 64, BLOCKED = 512, SLEEPERS = 516, MARKS = 1024;

it("a wait that is not met returns its resume point; the call from there runs only what is left", async () => {
  const m = new ModuleBuilder(await tunedFeatures());
  m.importMemory({ min: 1, max: 1, shared: true });
  // Kernel i stores i + 1 at MARKS + 4 i.
  const kernels = [0, 1].map((i) => {
    const f = m.function(`t${i}`, ["i32", "i32", "i32", "i32"], []);
    f.i32Const(MARKS + 4 * i); f.i32Const(i + 1); f.mem("i32.store", { offset: 0 });
    f.finish();
    return f;
  });
  // vEU 0: kernel 0, wait for vEU 1's first task, kernel 1. vEU 1 never runs here.
  const lists = [[
    { kind: "task", kernel: 0, share: 0, shares: 1, counter: 0 },
    { kind: "wait", veu: 1, count: 1 },
    { kind: "task", kernel: 1, share: 0, shares: 1, counter: 0 },
  ] as const, []];
  m.export(emitDispatch(m, kernels, lists, { counters: COUNTERS, stride: STRIDE, blocked: BLOCKED, sleepers: SLEEPERS }, "launch"));
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(m.finish())), { env: { memory } });
  const launch = instance.exports["launch"] as (veu: number, veus: number, slot: number, counter: number, from: number) => number;
  const cells = new Int32Array(memory.buffer);

  const started = performance.now();
  const from = launch(0, 2, 0, 0, 0);
  const waited = performance.now() - started;
  assert.equal(from, 2, "stalled at entry 1, the wait");
  assert.ok(waited >= 20 && waited < 2000, `gave the thread back after ${waited.toFixed(1)} ms`);
  assert.deepEqual([cells[MARKS / 4], cells[MARKS / 4 + 1]], [1, 0]);
  assert.equal(cells[COUNTERS / 4], 1, "vEU 0 finished one task");
  assert.equal(cells[SLEEPERS / 4], 0, "no sleeper left counted in");

  cells[MARKS / 4] = 0;
  Atomics.store(cells, (COUNTERS + STRIDE) / 4, 1); // vEU 1's task is done
  assert.equal(launch(0, 2, 0, 0, from), 0, "the list finished");
  assert.deepEqual([cells[MARKS / 4], cells[MARKS / 4 + 1]], [0, 2], "kernel 0 did not run again; kernel 1 ran");
  assert.equal(cells[COUNTERS / 4], 2);
});
