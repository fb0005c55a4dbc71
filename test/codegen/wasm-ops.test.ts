/**
 * One numeric test per instruction in the opcode table. Fixed-signature ops run from a table of
 * cases (typed over `PlainOp`, so a new op without a case is a tsc error); memory, lane,
 * constant, control, variable and atomic ops have their own tests. The last test checks that
 * every row of the table was emitted in a module that ran.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ModuleBuilder } from "../../src/codegen/wasm/module.js";
import type { FunctionBuilder } from "../../src/codegen/wasm/function.js";
import { OPS, opInfo, type OpName, type PlainOp, type ValType } from "../../src/codegen/wasm/opcodes.js";
import { covered, f32x4, i32x4, instantiate, memory } from "./wasm-helpers.js";
import { tunedFeatures } from "../helpers.js";

/** A v128 operand or result, by lanes. */
type Vec = { readonly f32: readonly number[] } | { readonly i32: readonly number[] };
type Value = number | bigint | Vec;
const F = (...f32: number[]): Vec => ({ f32 });
const I = (...i32: number[]): Vec => ({ i32 });
const MIN64 = -(2n ** 63n);

const CASES: { readonly [N in PlainOp]: readonly [readonly Value[], Value] } = {
  "i32.eqz": [[0], 1], "i32.eq": [[3, 3], 1], "i32.ne": [[3, 4], 1],
  "i32.lt_s": [[-1, 1], 1], "i32.lt_u": [[-1, 1], 0], "i32.gt_s": [[-1, 1], 0], "i32.gt_u": [[-1, 1], 1],
  "i32.le_s": [[2, 2], 1], "i32.le_u": [[1, -1], 1], "i32.ge_s": [[-2, 1], 0], "i32.ge_u": [[-2, 1], 1],
  "i32.clz": [[1], 31], "i32.ctz": [[8], 3], "i32.popcnt": [[0xff], 8],
  "i32.add": [[7, -3], 4], "i32.sub": [[7, 10], -3], "i32.mul": [[-6, 7], -42],
  "i32.div_s": [[-7, 2], -3], "i32.div_u": [[-8, 2], 0x7ffffffc], "i32.rem_s": [[-7, 2], -1], "i32.rem_u": [[-1, 10], 5],
  "i32.and": [[12, 10], 8], "i32.or": [[12, 10], 14], "i32.xor": [[12, 10], 6],
  "i32.shl": [[1, 33], 2], "i32.shr_s": [[-8, 1], -4], "i32.shr_u": [[-8, 28], 15],
  "i32.rotl": [[0x80000001, 1], 3], "i32.rotr": [[1, 1], -(2 ** 31)],

  "i64.eqz": [[0n], 1], "i64.eq": [[5n, 5n], 1], "i64.ne": [[5n, 5n], 0],
  "i64.lt_s": [[-1n, 1n], 1], "i64.lt_u": [[-1n, 1n], 0], "i64.gt_s": [[2n, 1n], 1], "i64.gt_u": [[-1n, 1n], 1],
  "i64.le_s": [[-1n, -1n], 1], "i64.le_u": [[-1n, 1n], 0], "i64.ge_s": [[-1n, 1n], 0], "i64.ge_u": [[-1n, 1n], 1],
  "i64.clz": [[1n], 63n], "i64.ctz": [[1n << 40n], 40n], "i64.popcnt": [[-1n], 64n],
  "i64.add": [[2n ** 40n, 1n], 2n ** 40n + 1n], "i64.sub": [[1n, 2n], -1n], "i64.mul": [[2n ** 32n, 2n ** 31n], MIN64],
  "i64.div_s": [[-9n, 2n], -4n], "i64.div_u": [[-2n, 2n], 2n ** 63n - 1n], "i64.rem_s": [[-9n, 2n], -1n], "i64.rem_u": [[-1n, 10n], 5n],
  "i64.and": [[12n, 10n], 8n], "i64.or": [[12n, 10n], 14n], "i64.xor": [[12n, 10n], 6n],
  "i64.shl": [[1n, 63n], MIN64], "i64.shr_s": [[MIN64, 62n], -2n], "i64.shr_u": [[-1n, 60n], 15n],
  "i64.rotl": [[MIN64, 1n], 1n], "i64.rotr": [[1n, 1n], MIN64],

  "f32.eq": [[1.5, 1.5], 1], "f32.ne": [[1, NaN], 1], "f32.lt": [[1, 2], 1],
  "f32.gt": [[1, 2], 0], "f32.le": [[2, 2], 1], "f32.ge": [[1, 2], 0],
  "f32.abs": [[-2.5], 2.5], "f32.neg": [[2.5], -2.5], "f32.ceil": [[1.25], 2], "f32.floor": [[-1.25], -2],
  "f32.trunc": [[-1.75], -1], "f32.nearest": [[2.5], 2], "f32.sqrt": [[2.25], 1.5],
  "f32.add": [[1.5, 2.25], 3.75], "f32.sub": [[1, 0.25], 0.75], "f32.mul": [[1.5, -2], -3], "f32.div": [[1, 4], 0.25],
  "f32.min": [[0, -0], -0], "f32.max": [[-0, 0], 0], "f32.copysign": [[2, -1], -2],

  "f64.eq": [[0.1, 0.1], 1], "f64.ne": [[1, NaN], 1], "f64.lt": [[1, 2], 1],
  "f64.gt": [[1, 2], 0], "f64.le": [[2, 2], 1], "f64.ge": [[1, 2], 0],
  "f64.abs": [[-2.5], 2.5], "f64.neg": [[2.5], -2.5], "f64.ceil": [[1.25], 2], "f64.floor": [[-1.25], -2],
  "f64.trunc": [[-1.75], -1], "f64.nearest": [[2.5], 2], "f64.sqrt": [[2], Math.SQRT2],
  "f64.add": [[0.1, 0.2], 0.1 + 0.2], "f64.sub": [[1, 0.25], 0.75], "f64.mul": [[0.1, 3], 0.1 * 3], "f64.div": [[1, 3], 1 / 3],
  "f64.min": [[0, -0], -0], "f64.max": [[-0, 0], 0], "f64.copysign": [[2, -1], -2],
  "f32.demote_f64": [[0.1], Math.fround(0.1)], "f64.promote_f32": [[1.5], 1.5], "f64.convert_i32_s": [[-3], -3],
  "i64.reinterpret_f64": [[1], 0x3ff0000000000000n], "f64.reinterpret_i64": [[0x4000000000000000n], 2],
  "i32.trunc_sat_f64_s": [[-1e10], -(2 ** 31)], "i64.trunc_sat_f64_s": [[-2.5], -2n],

  "i32.wrap_i64": [[2n ** 32n + 5n], 5], "i64.extend_i32_s": [[-1], -1n], "i64.extend_i32_u": [[-1], 2n ** 32n - 1n],
  "f32.convert_i32_s": [[-3], -3], "f32.convert_i32_u": [[-1], 2 ** 32],
  "i32.reinterpret_f32": [[1], 0x3f800000], "f32.reinterpret_i32": [[0x40490fdb], Math.fround(Math.PI)],
  "i32.trunc_sat_f32_s": [[-1e10], -(2 ** 31)], "i32.trunc_sat_f32_u": [[-5], 0],

  "i32x4.splat": [[7], I(7, 7, 7, 7)], "f32x4.splat": [[1.5], F(1.5, 1.5, 1.5, 1.5)],
  "f32x4.eq": [[F(1, 2, 3, NaN), F(1, 0, 3, NaN)], I(-1, 0, -1, 0)],
  "f32x4.ne": [[F(1, 2, 3, NaN), F(1, 0, 3, NaN)], I(0, -1, 0, -1)],
  "f32x4.lt": [[F(1, 2, 3, 4), F(2, 2, 2, 2)], I(-1, 0, 0, 0)],
  "f32x4.gt": [[F(1, 2, 3, 4), F(2, 2, 2, 2)], I(0, 0, -1, -1)],
  "f32x4.le": [[F(1, 2, 3, 4), F(2, 2, 2, 2)], I(-1, -1, 0, 0)],
  "f32x4.ge": [[F(1, 2, 3, 4), F(2, 2, 2, 2)], I(0, -1, -1, -1)],
  "v128.not": [[I(0, -1, 5, 0)], I(-1, 0, -6, -1)],
  "v128.and": [[I(12, -1, 0, 5), I(10, 7, -1, 3)], I(8, 7, 0, 1)],
  "v128.andnot": [[I(12, -1, 0, 5), I(10, 7, -1, 3)], I(4, -8, 0, 4)],
  "v128.or": [[I(12, -1, 0, 5), I(10, 7, -1, 3)], I(14, -1, -1, 7)],
  "v128.xor": [[I(12, -1, 0, 5), I(10, 7, -1, 3)], I(6, -8, -1, 6)],
  "v128.bitselect": [[I(1, 2, 3, 4), I(5, 6, 7, 8), I(-1, 0, -1, 0xffff)], I(1, 6, 3, 4 | (8 & ~0xffff))],
  "v128.any_true": [[I(0, 0, 1, 0)], 1],
  "i32x4.shl": [[I(1, 2, 3, -1), 2], I(4, 8, 12, -4)],
  "i32x4.shr_s": [[I(-8, 8, 1, -1), 1], I(-4, 4, 0, -1)],
  "i32x4.shr_u": [[I(-8, 8, 1, -1), 28], I(15, 0, 0, 15)],
  "i32x4.add": [[I(1, 2, 3, 4), I(10, 20, 30, 0x7fffffff)], I(11, 22, 33, -0x7ffffffd)],
  "i32x4.sub": [[I(1, 2, 3, 4), I(2, 2, 2, 2)], I(-1, 0, 1, 2)],
  "i32x4.mul": [[I(3, -2, 4, 65536), I(5, 7, -1, 65536)], I(15, -14, -4, 0)],
  "i32x4.min_s": [[I(-1, 5, 3, 0), I(1, -5, 3, 2)], I(-1, -5, 3, 0)],
  "i32x4.max_s": [[I(-1, 5, 3, 0), I(1, -5, 3, 2)], I(1, 5, 3, 2)],
  "i32x4.trunc_sat_f32x4_s": [[F(1.9, -1.9, 1e10, NaN)], I(1, -1, 0x7fffffff, 0)],
  "f32x4.convert_i32x4_s": [[I(-3, 0, 7, 16777217)], F(-3, 0, 7, 16777216)],
  "f32x4.ceil": [[F(1.25, -1.25, 0, 2)], F(2, -1, 0, 2)],
  "f32x4.floor": [[F(1.25, -1.25, 0, 2)], F(1, -2, 0, 2)],
  "f32x4.trunc": [[F(1.75, -1.75, 0.5, -0.5)], F(1, -1, 0, -0)],
  "f32x4.nearest": [[F(2.5, 3.5, -2.5, 1.4)], F(2, 4, -2, 1)],
  "f32x4.abs": [[F(-1, 2, -0, -3.5)], F(1, 2, 0, 3.5)],
  "f32x4.neg": [[F(1, -2, 0, 3)], F(-1, 2, -0, -3)],
  "f32x4.sqrt": [[F(4, 2.25, 0, 16)], F(2, 1.5, 0, 4)],
  "f32x4.add": [[F(1, 2, 3, 4), F(0.5, 0.5, 0.5, 0.5)], F(1.5, 2.5, 3.5, 4.5)],
  "f32x4.sub": [[F(1, 2, 3, 4), F(0.5, 0.5, 0.5, 0.5)], F(0.5, 1.5, 2.5, 3.5)],
  "f32x4.mul": [[F(1, 2, 3, 4), F(2, -1, 0.5, 0)], F(2, -2, 1.5, 0)],
  "f32x4.div": [[F(1, 2, 3, 4), F(2, -1, 0.5, 8)], F(0.5, -2, 6, 0.5)],
  // min/max propagate NaN and order -0 < 0; pmin/pmax are `b < a ? b : a` and `a < b ? b : a`.
  "f32x4.min": [[F(1, -0, NaN, 5), F(2, 0, 1, -5)], F(1, -0, NaN, -5)],
  "f32x4.max": [[F(1, -0, NaN, 5), F(2, 0, 1, -5)], F(2, 0, NaN, 5)],
  "f32x4.pmin": [[F(1, -0, NaN, 5), F(2, 0, 1, -5)], F(1, -0, NaN, -5)],
  "f32x4.pmax": [[F(1, -0, NaN, 5), F(2, 0, 1, -5)], F(2, -0, NaN, 5)],
  "f32x4.relaxed_madd": [[F(1, 2, 3, 4), F(2, 2, 2, 2), F(0.5, 0.5, 0.5, 0.5)], F(2.5, 4.5, 6.5, 8.5)],
  "f32x4.relaxed_nmadd": [[F(1, 2, 3, 4), F(2, 2, 2, 2), F(0.5, 0.5, 0.5, 0.5)], F(-1.5, -3.5, -5.5, -7.5)],
};

const features = await tunedFeatures();

/** Runs `op` on constant (or, for v128, loaded) operands; a v128 result is stored at address 0. */
async function runOp(op: PlainOp, inputs: readonly Value[]): Promise<number | bigint | Uint8Array> {
  const info = opInfo(op);
  const result = info.pushes![0]!;
  const m = new ModuleBuilder(features);
  m.importMemory({ min: 1 });
  const mem = memory();
  const f = m.function("run", [], result === "v128" ? [] : [result]);
  if (result === "v128") f.i32Const(0);
  inputs.forEach((v, k) => {
    if (typeof v === "bigint") return f.i64Const(v);
    if (typeof v === "number") return info.pops![k] === "f32" ? f.f32Const(v) : info.pops![k] === "f64" ? f.f64Const(v) : f.i32Const(v);
    const addr = 16 * (k + 1);
    new Uint8Array(mem.buffer, addr, 16).set("f32" in v ? f32x4(...v.f32) : i32x4(...v.i32));
    f.i32Const(addr);
    f.mem("v128.load");
  });
  f.op(op);
  if (result === "v128") f.mem("v128.store");
  f.finish();
  m.export(f);
  const out = (await instantiate(m, mem)).run!();
  return result === "v128" ? new Uint8Array(mem.buffer, 0, 16).slice() : out;
}

function assertValue(got: number | bigint | Uint8Array, want: Value, what: string): void {
  if (typeof want !== "object") return assert.ok(Object.is(got, want), `${what}: got ${got}, want ${want}`);
  const bytes = got as Uint8Array;
  const lanes = "f32" in want ? [...new Float32Array(bytes.buffer)] : [...new Int32Array(bytes.buffer)];
  const expect = "f32" in want ? want.f32.map(Math.fround) : want.i32;
  assert.ok(lanes.every((x, i) => Object.is(x, expect[i])), `${what}: got [${lanes}], want [${expect}]`);
}

describe("wasm instructions with a fixed signature", () => {
  for (const [op, [inputs, want]] of Object.entries(CASES) as [PlainOp, (typeof CASES)[PlainOp]][]) {
    const relaxed = opInfo(op).feature === "relaxedSimd";
    it(op, { skip: relaxed && !features.relaxedSimd && "engine lacks relaxed SIMD" }, async () => {
      assertValue(await runOp(op, inputs), want, op);
    });
  }
});

/** A module with one imported memory and one exported function `run`, built by `body`. */
async function run1(params: ValType[], results: ValType[], body: (f: FunctionBuilder) => void, mem = memory()) {
  const m = new ModuleBuilder(features);
  m.importMemory({ min: 1, max: 1, shared: mem.buffer instanceof SharedArrayBuffer });
  const f = m.function("run", params, results);
  body(f);
  f.finish();
  m.export(f);
  return { run: (await instantiate(m, mem)).run!, mem };
}

describe("wasm memory, lane and constant instructions", () => {
  it("i32/i64/f32 loads and stores, with offsets and byte loads", async () => {
    const { run, mem } = await run1(["i32"], ["i32"], (f) => {
      const [base] = f.params;
      f.localGet(base!); f.i32Const(-5); f.mem("i32.store", { offset: 4 });
      f.localGet(base!); f.i64Const(-(2n ** 40n)); f.mem("i64.store", { offset: 8 });
      f.localGet(base!); f.f32Const(2.5); f.mem("f32.store", { offset: 16, align: 1 });
      f.localGet(base!); f.i32Const(0x1ff); f.mem("i32.store8", { offset: 20 });
      // Read back through the loads: i32 + wrap(i64 >> 40) + trunc(f32) + byte = -5 - 1 + 2 + 255.
      f.localGet(base!); f.mem("i32.load", { offset: 4 });
      f.localGet(base!); f.mem("i64.load", { offset: 8 }); f.i64Const(40n); f.op("i64.shr_s"); f.op("i32.wrap_i64");
      f.op("i32.add");
      f.localGet(base!); f.mem("f32.load", { offset: 16 }); f.op("i32.trunc_sat_f32_s");
      f.op("i32.add");
      f.localGet(base!); f.mem("i32.load8_u", { offset: 20 });
      f.op("i32.add");
    });
    assert.equal(run(100), 251);
    const view = new DataView(mem.buffer);
    assert.equal(view.getInt32(104, true), -5);
    assert.equal(view.getBigInt64(108, true), -(2n ** 40n));
    assert.equal(view.getFloat32(116, true), 2.5);
    assert.equal(view.getUint8(120), 0xff);
  });

  it("f64 loads, stores and constants", async () => {
    const { run, mem } = await run1(["i32"], ["f64"], (f) => {
      const [base] = f.params;
      f.localGet(base!); f.f64Const(0.1); f.mem("f64.store", { offset: 8 });
      f.localGet(base!); f.mem("f64.load", { offset: 8 });
    });
    assert.equal(run(8), 0.1);
    assert.equal(new DataView(mem.buffer).getFloat64(16, true), 0.1);
  });

  it("v128.load/store, load32_splat and v128.const", async () => {
    const { run, mem } = await run1([], [], (f) => {
      f.i32Const(32);
      f.i32Const(0); f.mem("v128.load");
      f.i32Const(20); f.mem("v128.load32_splat");
      f.op("f32x4.mul");
      f.v128Const(f32x4(1, 1, 1, 1));
      f.op("f32x4.add");
      f.mem("v128.store");
    });
    new Float32Array(mem.buffer, 0, 6).set([1, 2, 3, 4, 0, 10]);
    run();
    assert.deepEqual([...new Float32Array(mem.buffer, 32, 4)], [11, 21, 31, 41]);
  });

  it("extract_lane and replace_lane, f32x4 and i32x4", async () => {
    const { run } = await run1([], ["f32"], (f) => {
      f.v128Const(f32x4(1, 2, 3, 4));
      f.f32Const(10); f.lane("f32x4.replace_lane", 2);
      f.lane("f32x4.extract_lane", 2);
      f.v128Const(i32x4(5, 6, 7, 8));
      f.i32Const(-1); f.lane("i32x4.replace_lane", 3);
      f.lane("i32x4.extract_lane", 3);
      f.op("f32.convert_i32_s");
      f.op("f32.add");
    });
    assert.equal(run(), 9);
  });

  it("i8x16.shuffle picks bytes from both operands", async () => {
    const { run, mem } = await run1([], [], (f) => {
      f.i32Const(0);
      f.v128Const(i32x4(0, 1, 2, 3));
      f.v128Const(i32x4(4, 5, 6, 7));
      // Lanes a3, b0, a1, b2 (as i32 lanes: bytes 12..15, 16..19, 4..7, 24..27).
      f.shuffle([12, 13, 14, 15, 16, 17, 18, 19, 4, 5, 6, 7, 24, 25, 26, 27]);
      f.mem("v128.store");
    });
    run();
    assert.deepEqual([...new Int32Array(mem.buffer, 0, 4)], [3, 4, 1, 6]);
  });
});

describe("wasm control and variable instructions", () => {
  it("loop, block, br, br_if, local.get/set/tee: factorial", async () => {
    const { run } = await run1(["i32"], ["i32"], (f) => {
      const [n] = f.params;
      const acc = f.local("i32", "acc");
      f.i32Const(1); f.localSet(acc);
      const done = f.block();
      const again = f.loop();
      f.localGet(n!); f.op("i32.eqz"); f.brIf(done);
      f.localGet(acc); f.localGet(n!); f.op("i32.mul"); f.localSet(acc);
      f.localGet(n!); f.i32Const(1); f.op("i32.sub"); f.localTee(n!);
      f.drop();
      f.br(again);
      f.end();
      f.end();
      f.localGet(acc);
    });
    assert.equal(run(5), 120);
    assert.equal(run(0), 1);
  });

  it("if/else with a result, select, return, call", async () => {
    const m = new ModuleBuilder(features);
    const sign = m.function("sign", ["i32"], ["i32"]);
    const [x] = sign.params;
    sign.localGet(x!); sign.op("i32.eqz");
    sign.if();
    sign.i32Const(0); sign.return();
    sign.end();
    sign.localGet(x!); sign.i32Const(0); sign.op("i32.lt_s");
    sign.if(["i32"]);
    sign.i32Const(-1);
    sign.else();
    sign.i32Const(1);
    sign.end();
    sign.finish();
    const twice = m.function("twice_sign_max", ["i32", "i32"], ["i32"]);
    const [a, b] = twice.params;
    twice.localGet(a!); twice.call(sign);
    twice.localGet(b!); twice.call(sign);
    twice.localGet(a!); twice.localGet(b!); twice.op("i32.gt_s");
    twice.select(); // sign of the larger argument
    twice.finish();
    m.export(sign);
    m.export(twice);
    const e = await instantiate(m);
    assert.deepEqual([e.sign!(-7), e.sign!(0), e.sign!(3)], [-1, 0, 1]);
    assert.equal(e.twice_sign_max!(-3, 4), 1);
    assert.equal(e.twice_sign_max!(-3, -9), -1);
  });

  it("unreachable traps", async () => {
    const { run } = await run1([], [], (f) => f.unreachable());
    assert.throws(() => run(), /unreachable/);
  });
});

describe("wasm atomics on a shared memory (one thread)", () => {
  it("atomic load/store and rmw add/sub/xchg/cmpxchg", async () => {
    const { run, mem } = await run1([], ["i32"], (f) => {
      f.i32Const(8); f.i32Const(10); f.mem("i32.atomic.store");
      f.i32Const(8); f.i32Const(5); f.mem("i32.atomic.rmw.add"); f.drop(); // 15
      f.i32Const(8); f.i32Const(3); f.mem("i32.atomic.rmw.sub"); f.drop(); // 12
      f.i32Const(8); f.i32Const(12); f.i32Const(40); f.mem("i32.atomic.rmw.cmpxchg"); f.drop(); // 40
      f.i32Const(8); f.i32Const(7); f.mem("i32.atomic.rmw.xchg"); // returns 40, leaves 7
      f.i32Const(8); f.mem("i32.atomic.load");
      f.op("i32.add");
    }, memory(1, true));
    assert.equal(run(), 47);
    assert.equal(new Int32Array(mem.buffer)[2], 7);
  });

  it("wait32 returns not-equal or timed-out; notify with no waiters wakes 0", async () => {
    const { run } = await run1(["i32", "i64"], ["i32"], (f) => {
      const [expected, timeout] = f.params;
      f.i32Const(0); f.localGet(expected!); f.localGet(timeout!); f.mem("memory.atomic.wait32");
      f.i32Const(100);
      f.op("i32.mul");
      f.i32Const(0); f.i32Const(1); f.mem("memory.atomic.notify");
      f.op("i32.add");
    }, memory(1, true));
    assert.equal(run(1, -1n), 100); // value 0 != 1: "not-equal" (1), no waiters
    assert.equal(run(0, 1000n), 200); // value matches, 1 µs passes: "timed-out" (2)
  });
});

it("every instruction in the table was emitted and run", () => {
  const missing = (Object.keys(OPS) as OpName[]).filter(
    (op) => !covered.has(op) && !(opInfo(op).feature === "relaxedSimd" && !features.relaxedSimd),
  );
  assert.deepEqual(missing, []);
});
