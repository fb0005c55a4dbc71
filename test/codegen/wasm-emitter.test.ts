/**
 * Whole programs through the wasm emitter, checked numerically after instantiation: scalar
 * reductions, an f32x4 multiply-add loop with a scalar tail (relaxed and fallback paths),
 * Relu/Clip by comparison masks and bitselect; then the checker's refusals, the encoding of
 * integers, the WAT printer, and the browser-safety of the emitter's modules.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { sleb, u32 } from "../../src/codegen/wasm/encoding.js";
import { wasm } from "../../src/codegen/wasm/engine.js";
import type { FunctionBuilder, Local } from "../../src/codegen/wasm/function.js";
import { ModuleBuilder } from "../../src/codegen/wasm/module.js";
import { BASELINE, type WasmFeatures } from "../../src/codegen/wasm/opcodes.js";
import { printFunction, printModule } from "../../src/codegen/wasm/wat.js";
import { InternalError } from "../../src/ir/errors.js";
import { instantiate, memory } from "./wasm-helpers.js";
import { tunedFeatures } from "../helpers.js";

const features = await tunedFeatures();

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 8 - 4);
}

/** `for (i = 0; i < n; i += step) body(i)`, with i and n i32 locals; `n` may be rounded down. */
function forLoop(f: FunctionBuilder, i: Local, n: Local, step: number, body: () => void): void {
  const exit = f.block();
  const top = f.loop();
  f.localGet(i); f.localGet(n); f.op("i32.ge_u"); f.brIf(exit);
  body();
  f.localGet(i); f.i32Const(step); f.op("i32.add"); f.localSet(i);
  f.br(top);
  f.end();
  f.end();
}

describe("wasm programs", () => {
  it("scalar loops sum an f32 and an i32 array in memory", async () => {
    const m = new ModuleBuilder();
    m.importMemory({ min: 1 });
    for (const [name, t] of [["sum_f32", "f32"], ["sum_i32", "i32"]] as const) {
      const f = m.function(name, ["i32", "i32"], [t]);
      const [ptr, n] = f.params;
      const i = f.local("i32", "i");
      const acc = f.local(t, "acc");
      forLoop(f, i, n!, 1, () => {
        f.localGet(acc);
        f.localGet(ptr!); f.localGet(i); f.i32Const(2); f.op("i32.shl"); f.op("i32.add");
        f.mem(t === "f32" ? "f32.load" : "i32.load");
        f.op(t === "f32" ? "f32.add" : "i32.add");
        f.localSet(acc);
      });
      f.localGet(acc);
      f.finish();
      m.export(f);
    }
    const mem = memory();
    const e = await instantiate(m, mem);
    const xs = random(1000, 1);
    new Float32Array(mem.buffer, 64, 1000).set(xs);
    let want = 0;
    for (const x of xs) want = Math.fround(want + x);
    assert.equal(e.sum_f32!(64, 1000), want);
    new Int32Array(mem.buffer, 64, 1000).set(Array.from({ length: 1000 }, (_, k) => k - 300));
    assert.equal(e.sum_i32!(64, 1000), (999 * 1000) / 2 - 300 * 1000);
    assert.equal(e.sum_i32!(64, 0), 0);
  });

  /** out[i] = a[i]*b[i] + c[i]: f32x4 over the multiple-of-4 prefix, scalar over the tail. */
  function maddKernel(target: WasmFeatures): ModuleBuilder {
    const m = new ModuleBuilder(target);
    m.importMemory({ min: 1 });
    const f = m.function("madd", ["i32", "i32", "i32", "i32", "i32"], []);
    const [a, b, c, out, n] = f.params;
    const i = f.local("i32", "i");
    const nv = f.local("i32", "nv");
    const addr = f.local("i32", "addr");
    const at = (base: Local | undefined) => { f.localGet(base!); f.localGet(addr); f.op("i32.add"); };
    f.localGet(n!); f.i32Const(-4); f.op("i32.and"); f.localSet(nv);
    forLoop(f, i, nv, 4, () => {
      f.localGet(i); f.i32Const(2); f.op("i32.shl"); f.localSet(addr);
      at(out);
      at(a); f.mem("v128.load", { align: 4 });
      at(b); f.mem("v128.load", { align: 4 });
      at(c); f.mem("v128.load", { align: 4 });
      f.f32x4Madd();
      f.mem("v128.store", { align: 4 });
    });
    forLoop(f, i, n!, 1, () => {
      f.localGet(i); f.i32Const(2); f.op("i32.shl"); f.localSet(addr);
      at(out);
      at(a); f.mem("f32.load"); at(b); f.mem("f32.load"); f.op("f32.mul");
      at(c); f.mem("f32.load"); f.op("f32.add");
      f.mem("f32.store");
    });
    f.finish();
    m.export(f);
    return m;
  }

  /** Runs the kernel on n = 1000 (all vector), 1003 (3-element tail) and 3 (tail only). */
  async function checkMadd(m: ModuleBuilder, fused: boolean): Promise<void> {
    const mem = memory(2);
    const { madd } = await instantiate(m, mem);
    const [A, B, C, OUT] = [0, 4096, 8192, 12288];
    const [a, b, c] = [random(1003, 2), random(1003, 3), random(1003, 4)];
    for (const n of [1000, 1003, 3]) {
      new Float32Array(mem.buffer).fill(NaN);
      new Float32Array(mem.buffer, A, n).set(a.subarray(0, n));
      new Float32Array(mem.buffer, B, n).set(b.subarray(0, n));
      new Float32Array(mem.buffer, C, n).set(c.subarray(0, n));
      madd!(A, B, C, OUT, n);
      const got = new Float32Array(mem.buffer, OUT, n + 1);
      for (let k = 0; k < n; k++) {
        const exact = a[k]! * b[k]! + c[k]!; // in f64: what a fused multiply-add rounds once
        const unfused = Math.fround(Math.fround(a[k]! * b[k]!) + c[k]!);
        // relaxed_madd may fuse (one rounding) or not; the tail and the fallback never do.
        const ok = got[k] === unfused || (fused && k < (n & ~3) && got[k] === Math.fround(exact));
        assert.ok(ok, `n=${n} k=${k}: got ${got[k]}, want ${unfused}`);
      }
      assert.ok(Number.isNaN(got[n]), `n=${n}: wrote past the end`);
    }
  }

  const ops = (m: ModuleBuilder) => m.functions.flatMap((f) => f.instructions.map((i) => i.op));

  it("an f32x4 loop computes a*b+c over 1000 floats with a scalar tail (mul+add)", async () => {
    const m = maddKernel({ ...BASELINE, relaxedSimd: false });
    assert.ok(!ops(m).includes("f32x4.relaxed_madd") && ops(m).includes("f32x4.mul"));
    await checkMadd(m, false);
  });

  it("relaxed madd", { skip: !features.relaxedSimd && "engine lacks relaxed SIMD" }, async () => {
    const m = maddKernel(features);
    assert.ok(ops(m).includes("f32x4.relaxed_madd") && !ops(m).includes("f32x4.mul"));
    await checkMadd(m, true);
  });

  it("the madd helper takes the path the detected features allow", () => {
    const m = maddKernel(features);
    assert.equal(ops(m).includes("f32x4.relaxed_madd"), features.relaxedSimd);
    assert.equal(ops(m).includes("f32x4.mul"), !features.relaxedSimd);
  });

  it("f32x4 nmadd fallback computes c - a*b", async () => {
    for (const target of [{ ...BASELINE, relaxedSimd: false }, features]) {
      const m = new ModuleBuilder(target);
      m.importMemory({ min: 1 });
      const f = m.function("run", [], []);
      f.i32Const(0);
      for (const k of [0, 16, 32]) { f.i32Const(k); f.mem("v128.load"); }
      f.f32x4Nmadd();
      f.mem("v128.store");
      f.finish();
      m.export(f);
      const mem = memory();
      new Float32Array(mem.buffer, 0, 12).set([1, 2, 3, 4, 2, 2, 2, 2, 10, 10, 10, 10]);
      (await instantiate(m, mem)).run!();
      assert.deepEqual([...new Float32Array(mem.buffer, 0, 4)], [8, 6, 4, 2]);
    }
  });

  it("Relu and Clip by comparison masks and bitselect", async () => {
    const m = new ModuleBuilder();
    m.importMemory({ min: 1 });
    // bitselect(a, b, mask) = mask ? a : b, lane-wise. relu: x > 0 ? x : 0.
    // clip to [-1, 1.5]: x < -1 ? -1 : x, then x <= 1.5 ? x : 1.5.
    const build = (name: string, body: (f: FunctionBuilder, x: Local) => void) => {
      const f = m.function(name, ["i32", "i32"], []);
      const [ptr, n] = f.params;
      const i = f.local("i32", "i");
      const x = f.local("v128", "x");
      forLoop(f, i, n!, 16, () => {
        f.localGet(ptr!); f.localGet(i); f.op("i32.add");
        f.localGet(ptr!); f.localGet(i); f.op("i32.add"); f.mem("v128.load"); f.localSet(x);
        body(f, x);
        f.mem("v128.store");
      });
      f.finish();
      m.export(f);
    };
    build("relu", (f, x) => {
      f.localGet(x); f.f32Const(0); f.op("f32x4.splat");
      f.localGet(x); f.f32Const(0); f.op("f32x4.splat"); f.op("f32x4.gt");
      f.op("v128.bitselect");
    });
    build("clip", (f, x) => {
      f.f32Const(-1); f.op("f32x4.splat"); f.localGet(x);
      f.localGet(x); f.f32Const(-1); f.op("f32x4.splat"); f.op("f32x4.lt");
      f.op("v128.bitselect"); f.localSet(x);
      f.localGet(x); f.f32Const(1.5); f.op("f32x4.splat");
      f.localGet(x); f.f32Const(1.5); f.op("f32x4.splat"); f.op("f32x4.le");
      f.op("v128.bitselect");
    });
    const mem = memory();
    const e = await instantiate(m, mem);
    const xs = Float32Array.from([...random(252, 5), -0, 0, 1.5, -1]);
    const data = new Float32Array(mem.buffer, 0, 256);
    data.set(xs);
    e.relu!(0, 1024);
    assert.deepEqual([...data], [...xs].map((x) => (x > 0 ? x : 0)));
    data.set(xs);
    e.clip!(0, 1024);
    assert.deepEqual([...data], [...xs].map((x) => (x < -1 ? -1 : x > 1.5 ? 1.5 : x)));
  });
});

describe("the wasm type checker", () => {
  /** Builds `fn(params) -> results` with `body`, expecting an InternalError matching `message`. */
  function rejects(message: RegExp, body: (f: FunctionBuilder, m: ModuleBuilder) => void, results: ("i32" | "f32")[] = []): void {
    const m = new ModuleBuilder();
    const f = m.function("bad", ["i32"], results);
    assert.throws(() => { body(f, m); f.finish(); m.finish(); }, (e: unknown) => e instanceof InternalError && message.test(e.message));
  }

  it("rejects f32.add on an i32 operand, naming the op and both types", () => {
    rejects(/\$bad: f32\.add: expected \[f32 f32\], got \[f32 i32\]/, (f) => {
      f.f32Const(1); f.localGet(f.params[0]!); f.op("f32.add");
    });
    rejects(/i32\.add: expected \[i32 i32\], got \[i32\]/, (f) => { f.i32Const(1); f.op("i32.add"); });
    rejects(/local\.set: expected \[i32\], got \[f32\]/, (f) => { f.f32Const(1); f.localSet(f.params[0]!); });
  });

  it("rejects a missing end, and an end with nothing open", () => {
    rejects(/finish: missing end: 2 block\(s\) still open, innermost loop \$L1/, (f) => { f.block(); f.loop(); });
    rejects(/end: no open block/, (f) => f.end());
  });

  it("rejects a br to a label that is not in scope", () => {
    rejects(/br: label \$L0 is not in scope/, (f) => { const l = f.block(); f.end(); f.br(l); });
    rejects(/br_if: label \$L0 is not in scope/, (f, m) => {
      const other = m.function("other", [], []);
      const l = other.block();
      f.i32Const(1);
      f.brIf(l);
    });
  });

  it("checks block results at end, else and function end", () => {
    rejects(/end: block \$L0 must leave \[f32\], found \[\]/, (f) => { f.block(["f32"]); f.end(); });
    rejects(/end: block \$L0 must leave \[\], found \[i32\]/, (f) => { f.block(); f.i32Const(1); f.end(); });
    rejects(/else: if \$L0 must leave \[i32\], found \[f32\]/, (f) => { f.i32Const(1); f.if(["i32"]); f.f32Const(1); f.else(); });
    rejects(/end: if \$L0 has results, so it needs an else/, (f) => { f.i32Const(1); f.if(["i32"]); f.i32Const(1); f.end(); });
    rejects(/else: the innermost open block is block \$L0, not an if/, (f) => { f.block(); f.else(); });
    rejects(/function end: function \$bad must leave \[f32\], found \[i32\]/, (f) => f.i32Const(1), ["f32"]);
    rejects(/br: expected \[i32\], got \[\]/, (f) => { const l = f.block(["i32"]); f.br(l); });
  });

  it("accepts any operands in unreachable code, as the spec does", async () => {
    const m = new ModuleBuilder();
    const f = m.function("f", [], ["f32"]);
    const l = f.block(["f32"]);
    f.f32Const(2);
    f.br(l);
    f.op("f32.add"); // pops two unknowns
    f.end();
    f.i32Const(0); f.if(["f32"]); f.unreachable(); f.else(); f.f32Const(1); f.end();
    f.op("f32.add");
    f.return();
    f.select(); // polymorphic too
    f.drop();
    f.finish();
    m.export(f);
    assert.equal((await instantiate(m)).f!(), 3);
  });

  it("supports multi-value blocks through a type index", async () => {
    const m = new ModuleBuilder();
    const f = m.function("f", [], ["i32"]);
    f.block(["i32", "i32"]);
    f.i32Const(7); f.i32Const(5);
    f.end();
    f.op("i32.sub");
    f.finish();
    m.export(f);
    assert.equal((await instantiate(m)).f!(), 2);
  });

  it("refuses bad immediates, foreign locals and features the target lacks", () => {
    rejects(/f32x4\.extract_lane: lane 4 out of range 0\.\.3/, (f) => { f.v128Const(new Uint8Array(16)); f.lane("f32x4.extract_lane", 4); });
    rejects(/i8x16\.shuffle: needs 16 lane indices in 0\.\.31/, (f) => f.shuffle([32, ...new Array<number>(15).fill(0)]));
    rejects(/v128\.const: needs 16 bytes/, (f) => f.v128Const([1, 2, 3]));
    rejects(/i32\.const: 4294967296 is not a 32-bit integer/, (f) => f.i32Const(2 ** 32));
    rejects(/f32\.load: align 8 must be a power of two <= 4/, (f) => { f.i32Const(0); f.mem("f32.load", { align: 8 }); });
    rejects(/i32\.atomic\.load: atomic accesses need align 4/, (f) => { f.i32Const(0); f.mem("i32.atomic.load", { align: 1 }); });
    rejects(/local\.get: local p0 belongs to another function/, (f, m) => {
      const g = m.function("g", ["f32"], []);
      f.localGet(g.params[0]!);
    });
    rejects(/f32x4\.relaxed_madd: the target lacks relaxedSimd/, (f) => f.op("f32x4.relaxed_madd"));
    rejects(/call \$h: the callee belongs to another module/, (f) => f.call(new ModuleBuilder().function("h", [], [])));
    rejects(/i32\.const: the function is already finished/, (f) => { f.finish(); f.i32Const(1); });
  });

  it("refuses unfinished functions, memory without an import, an unbounded shared memory", () => {
    const m = new ModuleBuilder();
    m.function("open", [], []);
    assert.throws(() => m.finish(), /function \$open was not finished/);
    const n = new ModuleBuilder();
    const f = n.function("f", [], ["i32"]);
    f.i32Const(0); f.mem("i32.load"); f.finish();
    assert.throws(() => n.finish(), /\$f uses memory, but none is imported/);
    assert.throws(() => new ModuleBuilder().importMemory({ min: 1, shared: true }), /shared memory needs a maximum/);
  });
});

describe("wasm encoding and printing", () => {
  it("encodes LEB128 at the byte boundaries", () => {
    assert.deepEqual([u32(0), u32(127), u32(128), u32(2 ** 32 - 1)], [[0], [127], [0x80, 1], [0xff, 0xff, 0xff, 0xff, 0x0f]]);
    assert.deepEqual([sleb(-1n), sleb(63n), sleb(64n), sleb(-64n), sleb(-65n)], [[0x7f], [0x3f], [0xc0, 0], [0x40], [0xbf, 0x7f]]);
    assert.throws(() => u32(-1), InternalError);
  });

  it("round-trips extreme constants", async () => {
    const m = new ModuleBuilder();
    const consts: [string, "i32" | "i64", number | bigint, number | bigint][] = [
      ["u32max", "i32", 2 ** 32 - 1, -1], ["i32min", "i32", -(2 ** 31), -(2 ** 31)],
      ["u64max", "i64", 2n ** 64n - 1n, -1n], ["i64min", "i64", -(2n ** 63n), -(2n ** 63n)],
    ];
    for (const [name, t, v] of consts) {
      const f = m.function(name, [], [t]);
      if (t === "i32") f.i32Const(v as number); else f.i64Const(v as bigint);
      f.finish();
      m.export(f);
    }
    const e = await instantiate(m);
    for (const [name, , , want] of consts) assert.equal(e[name]!(), want, name);
  });

  it("prints WAT-like text", () => {
    const m = new ModuleBuilder();
    m.importMemory({ min: 1, max: 4, shared: true });
    const f = m.function("relu4", ["i32"], []);
    const [p] = f.params;
    const x = f.local("v128", "x");
    f.localGet(p!);
    f.localGet(p!); f.mem("v128.load", { offset: 16, align: 4 }); f.localTee(x);
    f.f32Const(0); f.op("f32x4.splat");
    f.localGet(x); f.v128Const(new Uint8Array(16)); f.op("f32x4.gt");
    f.op("v128.bitselect");
    f.mem("v128.store", { offset: 16 });
    f.i32Const(1);
    f.if();
    const l = f.block();
    f.br(l);
    f.end();
    f.else();
    f.end();
    f.finish();
    m.export(f, "relu");
    assert.equal(printModule(m), `(module
  (import "env" "memory" (memory 1 4 shared))
  (func $relu4 (export "relu") (param $p0 i32)
    (local $x v128)
    local.get $p0
    local.get $p0
    v128.load offset=16 align=4
    local.tee $x
    f32.const 0
    f32x4.splat
    local.get $x
    v128.const i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
    f32x4.gt
    v128.bitselect
    v128.store offset=16
    i32.const 1
    if $L0
      block $L1
        br $L1
      end
    else
    end))`);
    assert.match(printFunction(f), /^\(func \$relu4 \(param \$p0 i32\)\n/);
    assert.ok(wasm.validate(m.finish()));
  });

  it("the emitter's modules import nothing from node: statically (they must load in browsers)", () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), "../../src/codegen/wasm");
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".js"))) {
      assert.doesNotMatch(readFileSync(join(dir, file), "utf8"), /from "node:|require\(/, file);
    }
  });

  it("detects features by validation", () => {
    // Node 20 has SIMD128 and threads by default; relaxed SIMD depends on the V8 flag.
    assert.deepEqual([features.simd128, features.threads], [true, true]);
    assert.equal(typeof features.relaxedSimd, "boolean");
  });
});
