/**
 * One shared WebAssembly.Memory (imported as `(memory 1 1 shared)`) used from two
 * worker_threads running the same emitted module: atomic counting and a wait/notify handshake.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { wasm, type WasmMemory, type WasmModule } from "../../src/codegen/wasm/engine.js";
import { ModuleBuilder } from "../../src/codegen/wasm/module.js";
import { memory } from "./wasm-helpers.js";

// Each worker instantiates the module on the shared memory and posts back one export's result.
const WORKER = `
const { parentPort, workerData: { module, memory, fn, args } } = require("node:worker_threads");
WebAssembly.instantiate(module, { env: { memory } }).then((i) => parentPort.postMessage(i.exports[fn](...args)));
`;

function inWorker(module: WasmModule, mem: WasmMemory, fn: string, args: (number | bigint)[]): Promise<unknown> {
  const w = new Worker(WORKER, { eval: true, workerData: { module, memory: mem, fn, args } });
  return new Promise((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  }).finally(() => w.terminate());
}

function buildModule(): ModuleBuilder {
  const m = new ModuleBuilder();
  m.importMemory({ min: 1, max: 1, shared: true });

  // count(counter, n, ready): a start barrier (both threads check in, then spin until both have),
  // then n atomic increments, so the two threads really do race.
  const count = m.function("count", ["i32", "i32", "i32"], []);
  const [counter, n, ready] = count.params;
  count.localGet(ready!); count.i32Const(1); count.mem("i32.atomic.rmw.add"); count.drop();
  const spin = count.loop();
  count.localGet(ready!); count.mem("i32.atomic.load"); count.i32Const(2); count.op("i32.lt_s"); count.brIf(spin);
  count.end();
  const done = count.block();
  const again = count.loop();
  count.localGet(n!); count.op("i32.eqz"); count.brIf(done);
  count.localGet(counter!); count.i32Const(1); count.mem("i32.atomic.rmw.add"); count.drop();
  count.localGet(n!); count.i32Const(1); count.op("i32.sub"); count.localSet(n!);
  count.br(again);
  count.end();
  count.end();
  count.finish();
  m.export(count);

  // consume(flag, data, timeout_ns): sleep on flag (while it is 0) until notified; return the
  // wait result (0 ok, 1 not-equal, 2 timed-out) * 1e6 + data.
  const consume = m.function("consume", ["i32", "i32", "i64"], ["i32"]);
  const [flag, data, timeout] = consume.params;
  consume.localGet(flag!); consume.i32Const(0); consume.localGet(timeout!); consume.mem("memory.atomic.wait32");
  consume.i32Const(1_000_000); consume.op("i32.mul");
  consume.localGet(data!); consume.mem("i32.atomic.load");
  consume.op("i32.add");
  consume.finish();
  m.export(consume);

  // produce(flag, data, value): publish value, then notify until one waiter was woken. The flag
  // never changes, so the consumer's wait can only end by this notify (or its timeout).
  const produce = m.function("produce", ["i32", "i32", "i32"], ["i32"]);
  const [pflag, pdata, value] = produce.params;
  const woken = produce.local("i32", "woken");
  produce.localGet(pdata!); produce.localGet(value!); produce.mem("i32.atomic.store");
  const retry = produce.loop();
  produce.localGet(pflag!); produce.i32Const(1); produce.mem("memory.atomic.notify"); produce.localTee(woken);
  produce.op("i32.eqz"); produce.brIf(retry);
  produce.end();
  produce.localGet(woken);
  produce.finish();
  m.export(produce);
  return m;
}

describe("wasm threads on a shared memory", { timeout: 20_000 }, () => {
  it("two workers each add 1 to a counter 10,000 times with i32.atomic.rmw.add", async () => {
    const module = await wasm.compile(buildModule().finish());
    const mem = memory(1, true);
    const [COUNTER, READY] = [64, 68];
    await Promise.all([inWorker(module, mem, "count", [COUNTER, 10_000, READY]), inWorker(module, mem, "count", [COUNTER, 10_000, READY])]);
    assert.equal(new Int32Array(mem.buffer)[COUNTER / 4], 20_000);
  });

  it("a wait/notify handshake: the consumer sleeps until the producer wakes it", async () => {
    const module = await wasm.compile(buildModule().finish());
    const mem = memory(1, true);
    const [FLAG, DATA] = [128, 132];
    const consumed = inWorker(module, mem, "consume", [FLAG, DATA, 5_000_000_000n]);
    const woken = await inWorker(module, mem, "produce", [FLAG, DATA, 4242]);
    assert.equal(woken, 1);
    assert.equal(await consumed, 4242); // wait result 0 ("ok"), then the published value
  });
});
