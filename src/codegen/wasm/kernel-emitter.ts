/**
 * One loop IR function as one wasm kernel `(share: i32, shares: i32, slot: i32, counter: i32) -> ()`:
 * it runs share `share` of `shares` of its parallel loop with scratch slot `slot` (the worker's,
 * or the vEU's under the Rammer executor, whose tasks are shares of kernels). A nonzero
 * `counter` is the address of an i32 that is 0 when the first of the `shares` callers starts:
 * the callers then take the loop's iterations from it in chunks (dynamic sharing) instead of
 * fixed shares, so one that loses its core for a while (this machine is shared) or reaches the
 * kernel late no longer holds the others up at the end. Statements map
 * to structured control flow (loops as do-while, empty ones dropped); index
 * arithmetic is i32 with the IR's floor division; f32/f64 values use the matching wasm types.
 * Buffer addresses go into memarg offsets: an input or output at its placed byte offset (or, in
 * a shared body, at 0 above the base address passed for it), an Alloc'd buffer at its layout
 * offset above this worker's scratch base, plus the constant part of the index. Unrolled loops
 * bind their variable to a constant, folded into every expression they contain; small Alloc'd buffers whose indices all fold to constants live
 * in locals instead of scratch (register-plan.ts).
 */
import { InternalError, UnsupportedError } from "../../ir/errors.js";
import { type Expr, FALSE, type ScalarType, TRUE, ivar, lit, loadsOf, varsOf } from "../../loopir/expr.js";
import { fromLinear, linearize } from "../../loopir/simplify.js";
import type { For, Func, Stmt } from "../../loopir/stmt.js";
import type { FunctionBuilder, Label, Local } from "./function.js";
import { type MathHelpers, emitVector, hasVectorForm, isHelper } from "./math.js";
import type { ValType } from "./opcodes.js";
import { parallelLoop } from "./parallel-plan.js";
import { foldConstants, loopForm, straightLine, visitAccesses } from "./accesses.js";
import { MAX_PROMOTED_FLOATS, promotion } from "./register-plan.js";
import { type ScratchLayout, elementBytes } from "./scratch-layout.js";
import { type VectorPlan, laneZero } from "./vector-plan.js";

export interface Placement {
  /** Byte offset of every input and output buffer in the shared memory. */
  readonly buffers: ReadonlyMap<string, number>;
  /** Local buffers: worker w's region starts at offset + w * bytesPerWorker. */
  readonly scratch: { readonly offset: number; readonly bytesPerWorker: number };
}

/**
 * Where a buffer lives: memory from a fixed byte offset, relative to the address in `base` when
 * there is one (the scratch base for a local buffer, a parameter in a shared body), or locals.
 */
type BufferHome =
  | { readonly type: "f32" | "f64"; readonly offset: number; readonly local: boolean; readonly base?: Local; readonly registers?: undefined }
  | { readonly type: "f32"; readonly registers: "f32" | "v128"; readonly locals: readonly Local[] };
type MemoryHome = Extract<BufferHome, { offset: number }>;
type RegisterHome = Extract<BufferHome, { locals: readonly Local[] }>;

const VALTYPE: Readonly<Record<ScalarType, ValType>> = { int: "i32", bool: "i32", f32: "f32", f64: "f64" };

/**
 * A kernel's parameters: (share, shares, slot, counter), then, for a body that takes its buffers'
 * addresses (`bases`), one i32 per input and output in order.
 */
export function kernelParams(f: Func, bases: boolean): ValType[] {
  return ["i32", "i32", "i32", "i32", ...(bases ? [...f.inputs, ...f.outputs].map((): ValType => "i32") : [])];
}

/** Emits `f` into `fb`, a function with `kernelParams(f, bases)`, and finishes it. */
export function emitKernel(fb: FunctionBuilder, math: MathHelpers, f: Func, placement: Placement, layout: ScratchLayout, bases: boolean): void {
  new KernelEmitter(fb, math, f, placement, layout, fb.features.threads, bases).emit();
  fb.finish();
}

class KernelEmitter {
  private readonly worker: Local;
  private readonly workers: Local;
  private readonly slot: Local;
  private readonly counter: Local;
  private readonly vars = new Map<string, Local>();
  /** Variables of the unrolled loops around the code being emitted, bound to constants. */
  private readonly consts = new Map<string, Expr>();
  private readonly homes = new Map<string, BufferHome>();
  /** Floats of the buffers currently promoted to locals. */
  private promotedFloats = 0;
  /** Address pointers of the innermost runtime loop being emitted (variable v), by `pointerKey`. */
  private pointers?: { readonly v: string; readonly locals: Map<string, Local> };
  private readonly parallel: For | undefined;
  private scratchBase?: Local;
  /**
   * Vector loads already made in the current iteration of a straight-line innermost loop, by
   * `loadKey`, each kept in a v128 local (see `cachedLoad`); undefined outside such a body.
   */
  private loadCache?: Map<string, { readonly local: Local; readonly buffer: string; readonly scratch: boolean }>;
  /** v128 locals for the load cache, reused from one innermost loop to the next. */
  private readonly cacheLocals: Local[] = [];
  /** Depth of conditional code (if blocks) being emitted: a load made there may not have run. */
  private conditional = 0;

  constructor(private readonly fb: FunctionBuilder, private readonly math: MathHelpers, private readonly f: Func,
    private readonly placement: Placement, private readonly layout: ScratchLayout, private readonly threads: boolean, bases: boolean) {
    [this.worker, this.workers, this.slot, this.counter] = fb.params as [Local, Local, Local, Local];
    this.parallel = parallelLoop(f);
    [...f.inputs, ...f.outputs].forEach((b, i) => {
      const offset = bases ? 0 : placement.buffers.get(b.name);
      if (offset === undefined) throw new InternalError(`kernel ${f.name}: buffer ${b.name} has no placement`);
      this.homes.set(b.name, { type: b.type, offset, local: false, ...(bases ? { base: fb.params[4 + i]! } : {}) });
    });
  }

  emit(): void {
    const fb = this.fb;
    if (!this.parallel) {
      // Serial kernels are run by worker 0 alone.
      fb.localGet(this.worker); fb.if(); fb.return(); fb.end();
    }
    if (this.layout.bytes > 0) {
      this.scratchBase = fb.local("i32", "scratch");
      fb.i32Const(this.placement.scratch.offset);
      fb.localGet(this.slot); fb.i32Const(this.placement.scratch.bytesPerWorker); fb.op("i32.mul");
      fb.op("i32.add");
      fb.localSet(this.scratchBase);
    }
    this.stmt(this.f.body);
  }

  // ---- Statements.

  private stmt(s: Stmt): void {
    const fb = this.fb;
    switch (s.kind) {
      case "seq": return s.body.forEach((b) => this.stmt(b));
      case "if": {
        const cond = this.fold(s.cond);
        if (cond === FALSE) return;
        if (cond === TRUE) return this.stmt(s.then);
        this.scalar(cond);
        fb.if();
        this.conditional++;
        this.stmt(s.then);
        this.conditional--;
        fb.end();
        return;
      }
      case "alloc": {
        const outer = this.homes.get(s.buffer.name);
        const p = promotion(s, this.consts, (b) => this.home(b).type);
        const promote = p !== undefined && this.promotedFloats + p.floats <= MAX_PROMOTED_FLOATS;
        if (promote) {
          const n = p.kind === "v128" ? Math.ceil(p.floats / 4) : p.floats;
          const locals = Array.from({ length: n }, (_, i) => fb.local(p.kind, `${s.buffer.name}.${i}`));
          this.homes.set(s.buffer.name, { type: "f32", registers: p.kind, locals });
          this.promotedFloats += p.floats;
        } else {
          this.homes.set(s.buffer.name, { type: s.buffer.type, offset: this.layout.offsets.get(s)!, local: true, base: this.scratchBase! });
        }
        this.stmt(s.body);
        if (promote) this.promotedFloats -= p.floats;
        if (outer) this.homes.set(s.buffer.name, outer);
        else this.homes.delete(s.buffer.name);
        return;
      }
      case "store": {
        const home = this.home(s.buffer), index = this.fold(s.index[0]!);
        if (home.registers) return this.registerStore(home, index, this.fold(s.value));
        const offset = this.address(home, index);
        this.scalar(this.fold(s.value));
        fb.mem(home.type === "f32" ? "f32.store" : "f64.store", { offset });
        this.forget(home, s.buffer);
        return;
      }
      case "for": return this.loop(s);
    }
  }

  private loop(s: For): void {
    if (s.extent < 1) return;
    if (s === this.parallel) {
      // A counter serves one pass over the loop per kernel call: not a loop nested in another.
      return this.shareLoop(s, this.threads && !nestedInLoop(this.f.body, s));
    }
    const form = loopForm(s, this.consts, (b) => this.home(b).type);
    if (form.kind === "vector") return this.vectorLoop(form.plan);
    if (form.kind === "unrolled") {
      // One copy per iteration with the variable bound to a constant that folds into every
      // expression (the statements stay the same objects, so the scratch layout still finds
      // their allocs).
      if (this.vars.has(s.v) || this.consts.has(s.v)) throw new InternalError(`kernel ${this.f.name}: loop variable ${s.v} is bound twice`);
      for (let k = 0; k < s.extent; k++) {
        this.consts.set(s.v, lit(k, "int"));
        this.stmt(s.body);
      }
      this.consts.delete(s.v);
      return;
    }
    const fb = this.fb;
    const i = this.bind(s.v);
    const straight = straightLine(s.body);
    const steps = straight ? this.startPointers(s) : [];
    fb.i32Const(0); fb.localSet(i);
    const top = fb.loop();
    if (straight) this.loadCache = new Map();
    this.stmt(s.body);
    this.loadCache = undefined;
    for (const [p, step] of steps) { fb.localGet(p); fb.i32Const(step); fb.op("i32.add"); fb.localSet(p); }
    this.pointers = undefined;
    fb.localGet(i); fb.i32Const(1); fb.op("i32.add"); fb.localTee(i);
    fb.i32Const(s.extent); fb.op("i32.lt_s"); fb.brIf(top);
    fb.end();
    this.vars.delete(s.v);
  }

  /** Pushes floor(extent * (share + plus) / shares): where this caller's fixed share starts (plus 0) or ends (plus 1). */
  private shareBound(extent: number, plus: number): void {
    const fb = this.fb;
    fb.i32Const(extent); fb.localGet(this.worker);
    if (plus) { fb.i32Const(plus); fb.op("i32.add"); }
    fb.op("i32.mul"); fb.localGet(this.workers); fb.op("i32.div_u");
  }

  /**
   * The caller's part of the parallel loop `s`: its fixed share [floor(n*w/W), floor(n*(w+1)/W)),
   * or, when `dynamic` and `counter` is not 0, chunks of max(1, floor(n / (8 * W))) iterations,
   * each taken with an atomic add on the counter, until they run out. One copy of the body
   * serves both: the range [i, end) comes from one or the other.
   */
  private shareLoop(s: For, dynamic: boolean): void {
    const fb = this.fb;
    const i = this.bind(s.v), end = fb.local("i32", `${s.v}.end`), chunk = fb.local("i32", `${s.v}.chunk`);
    const fixedShare = () => {
      this.shareBound(s.extent, 0); fb.localSet(i);
      this.shareBound(s.extent, 1); fb.localSet(end);
    };
    /** [i, end) = the next chunk, or leave through `exit` when none is left. */
    const takeChunk = (exit: Label) => {
      fb.localGet(this.counter); fb.localGet(chunk); fb.mem("i32.atomic.rmw.add", { offset: 0 });
      fb.localTee(i); fb.i32Const(s.extent); fb.op("i32.ge_s"); fb.brIf(exit);
      // end = min(i + chunk, n)
      fb.localGet(i); fb.localGet(chunk); fb.op("i32.add"); fb.localTee(end);
      fb.i32Const(s.extent); fb.localGet(end); fb.i32Const(s.extent); fb.op("i32.lt_s"); fb.select(); fb.localSet(end);
    };
    const exit = fb.block();
    if (dynamic) {
      fb.localGet(this.counter);
      fb.if();
      fb.i32Const(s.extent); fb.localGet(this.workers); fb.i32Const(8); fb.op("i32.mul"); fb.op("i32.div_u"); fb.localSet(chunk);
      // chunk = chunk < 1 ? 1 : chunk
      fb.i32Const(1); fb.localGet(chunk); fb.localGet(chunk); fb.i32Const(1); fb.op("i32.lt_u"); fb.select(); fb.localSet(chunk);
      takeChunk(exit);
      fb.else();
      fixedShare();
      fb.end();
    } else fixedShare();
    const grab = fb.loop();
    const empty = fb.block();
    fb.localGet(i); fb.localGet(end); fb.op("i32.ge_s"); fb.brIf(empty);
    const top = fb.loop();
    this.stmt(s.body);
    fb.localGet(i); fb.i32Const(1); fb.op("i32.add"); fb.localTee(i);
    fb.localGet(end); fb.op("i32.lt_s"); fb.brIf(top);
    fb.end();
    fb.end();
    if (dynamic) {
      fb.localGet(this.counter); fb.op("i32.eqz"); fb.brIf(exit);
      takeChunk(exit);
      fb.br(grab);
    }
    fb.end();
    fb.end();
    this.vars.delete(s.v);
  }

  private bind(v: string): Local {
    if (this.vars.has(v) || this.consts.has(v)) throw new InternalError(`kernel ${this.f.name}: loop variable ${v} is bound twice`);
    const l = this.fb.local("i32", v);
    this.vars.set(v, l);
    return l;
  }

  private home(buffer: string): BufferHome {
    const h = this.homes.get(buffer);
    if (!h) throw new InternalError(`kernel ${this.f.name}: undeclared buffer ${buffer}`);
    return h;
  }

  private fold(e: Expr): Expr {
    return foldConstants(e, this.consts);
  }

  /**
   * Strength reduction for an innermost loop: every memory access in its body at
   * base + c*v (+ a constant) gets a pointer local, set to base's address before the loop and
   * stepped by c elements per iteration, so the body does no index arithmetic (V8 neither
   * hoists nor shares it). Returns the pointers and their steps in bytes.
   */
  private startPointers(s: For): [Local, number][] {
    const fb = this.fb, steps: [Local, number][] = [], locals = new Map<string, Local>();
    visitAccesses(s.body, this.consts, (b) => this.home(b).type, (x) => {
      const home = this.home(x.buffer);
      if (home.registers) return;
      const split = splitIndex(x.index, s.v);
      const key = split && pointerKey(home, split);
      if (!split || !key || locals.has(key)) return;
      const p = fb.local("i32", `p${locals.size}`);
      this.scalar(split.base);
      fb.i32Const(elementBytes(home.type) === 4 ? 2 : 3); fb.op("i32.shl");
      if (home.base) { fb.localGet(home.base); fb.op("i32.add"); }
      fb.localSet(p);
      locals.set(key, p);
      if (split.coeff !== 0) steps.push([p, split.coeff * elementBytes(home.type)]);
    });
    this.pointers = { v: s.v, locals };
    return steps;
  }

  /**
   * Pushes the dynamic part of an element's address and returns the memarg offset: the buffer's
   * offset plus the index's constant part, when the rest is a sum of loop variables (so never
   * negative, as the effective address does not wrap).
   */
  private address(home: MemoryHome, index: Expr): number {
    const fb = this.fb, bytes = elementBytes(home.type);
    const p = this.pointers && splitIndex(index, this.pointers.v);
    const pointer = p && this.pointers!.locals.get(pointerKey(home, p));
    if (pointer) {
      fb.localGet(pointer);
      return home.offset + p.offset * bytes;
    }
    const split = splitIndex(index);
    const dynamic = split?.base ?? index, offset = split?.offset ?? 0;
    if (dynamic.kind === "const") fb.i32Const(dynamic.value * bytes);
    else {
      this.scalar(dynamic);
      fb.i32Const(bytes === 4 ? 2 : 3); fb.op("i32.shl");
    }
    if (home.base) { fb.localGet(home.base); fb.op("i32.add"); }
    return home.offset + offset * bytes;
  }

  /** The local of a promoted buffer's element `index` (a constant, as register-plan.ts checked), and its lane in a v128. */
  private register(home: RegisterHome, index: Expr): [Local, number] {
    if (index.kind !== "const") throw new InternalError(`kernel ${this.f.name}: promoted buffer access at a non-constant index`);
    return home.registers === "f32" ? [home.locals[index.value]!, 0] : [home.locals[index.value >> 2]!, index.value & 3];
  }

  private registerStore(home: RegisterHome, index: Expr, value: Expr): void {
    const fb = this.fb, [local, lane] = this.register(home, index);
    if (home.registers === "v128") fb.localGet(local);
    this.scalar(value);
    if (home.registers === "v128") fb.lane("f32x4.replace_lane", lane);
    fb.localSet(local);
  }

  // ---- Scalar expressions.

  private scalar(e: Expr): void {
    const fb = this.fb;
    switch (e.kind) {
      case "const":
        if (e.type === "f32") return fb.f32Const(e.value);
        if (e.type === "f64") return fb.f64Const(e.value);
        return fb.i32Const(e.value);
      case "var": {
        const l = this.vars.get(e.name);
        if (!l) throw new InternalError(`kernel ${this.f.name}: unbound variable ${e.name}`);
        return fb.localGet(l);
      }
      case "binary": return e.type === "int" ? this.intBinary(e.op, e.a, e.b) : this.floatBinary(e.op, e.a, e.b, e.type as "f32" | "f64");
      case "compare": {
        this.scalar(e.a);
        this.scalar(e.b);
        const t = e.a.type;
        if (t === "f32" || t === "f64") return fb.op(`${t}.${({ "<": "lt", "<=": "le", "==": "eq", "!=": "ne" } as const)[e.op]}`);
        return fb.op(({ "<": "i32.lt_s", "<=": "i32.le_s", "==": "i32.eq", "!=": "i32.ne" } as const)[e.op]);
      }
      case "logic":
        this.scalar(e.a);
        // Short-circuit when the right side loads: it may be guarded by the left.
        if (loadsOf(e.b).length === 0) {
          this.scalar(e.b);
          return fb.op(e.op === "&&" ? "i32.and" : "i32.or");
        }
        fb.if(["i32"]);
        this.conditional++;
        if (e.op === "&&") this.scalar(e.b); else fb.i32Const(1);
        fb.else();
        if (e.op === "&&") fb.i32Const(0); else this.scalar(e.b);
        this.conditional--;
        fb.end();
        return;
      case "select":
        // A select guards out-of-range loads (padding), so a side that loads is only run when chosen.
        if (loadsOf(e.t).length === 0 && loadsOf(e.f).length === 0) {
          this.scalar(e.t); this.scalar(e.f); this.scalar(e.cond);
          return fb.select();
        }
        this.scalar(e.cond);
        fb.if([VALTYPE[e.type]]);
        this.conditional++;
        this.scalar(e.t);
        fb.else();
        this.scalar(e.f);
        this.conditional--;
        fb.end();
        return;
      case "load": {
        const home = this.home(e.buffer);
        if (home.registers) {
          const [local, lane] = this.register(home, e.index[0]!);
          fb.localGet(local);
          return home.registers === "v128" ? fb.lane("f32x4.extract_lane", lane) : undefined;
        }
        const offset = this.address(home, e.index[0]!);
        return fb.mem(home.type === "f32" ? "f32.load" : "f64.load", { offset });
      }
      case "call": {
        const t = e.type as "f32" | "f64";
        this.scalar(e.arg);
        if (!isHelper(e.fn)) return fb.op(`${t}.${e.fn}`);
        if (t === "f32") fb.op("f64.promote_f32");
        fb.call(this.math.get(e.fn));
        if (t === "f32") fb.op("f32.demote_f64");
        return;
      }
      case "cast": return this.cast(e.value, e.type);
    }
  }

  private floatBinary(op: string, a: Expr, b: Expr, t: "f32" | "f64"): void {
    if (op === "%") throw new UnsupportedError(`kernel ${this.f.name}: the wasm backend has no float remainder`, "float remainder");
    this.scalar(a);
    this.scalar(b);
    this.fb.op(`${t}.${({ "+": "add", "-": "sub", "*": "mul", "/": "div", min: "min", max: "max" } as const)[op as "+"]}`);
  }

  private intBinary(op: string, a: Expr, b: Expr): void {
    const fb = this.fb;
    if (op === "+" || op === "-" || op === "*") {
      this.scalar(a); this.scalar(b);
      return fb.op(op === "+" ? "i32.add" : op === "-" ? "i32.sub" : "i32.mul");
    }
    const ta = fb.local("i32"), tb = fb.local("i32");
    this.scalar(a); fb.localSet(ta);
    this.scalar(b); fb.localSet(tb);
    if (op === "min" || op === "max") {
      fb.localGet(ta); fb.localGet(tb);
      fb.localGet(ta); fb.localGet(tb); fb.op(op === "min" ? "i32.lt_s" : "i32.gt_s");
      return fb.select();
    }
    // Floor division and modulo: truncating results step down when the remainder's sign differs from b's.
    const r = fb.local("i32"), adjust = fb.local("i32");
    fb.localGet(ta); fb.localGet(tb); fb.op("i32.rem_s"); fb.localSet(r);
    fb.localGet(r); fb.i32Const(0); fb.op("i32.ne");
    fb.localGet(r); fb.localGet(tb); fb.op("i32.xor"); fb.i32Const(0); fb.op("i32.lt_s");
    fb.op("i32.and"); fb.localSet(adjust);
    if (op === "/") {
      fb.localGet(ta); fb.localGet(tb); fb.op("i32.div_s"); fb.localGet(adjust); fb.op("i32.sub");
    } else {
      fb.localGet(r); fb.localGet(tb); fb.i32Const(0); fb.localGet(adjust); fb.select(); fb.op("i32.add");
    }
  }

  /** Casts follow the interpreter: float to int truncates, anything to bool is "nonzero" (NaN is false). */
  private cast(value: Expr, to: ScalarType): void {
    const fb = this.fb, from = value.type;
    this.scalar(value);
    if (from === to) return;
    const float = (t: ScalarType): t is "f32" | "f64" => t === "f32" || t === "f64";
    if (to === "bool") {
      if (!float(from)) { fb.i32Const(0); return fb.op("i32.ne"); }
      const x = fb.local(from);
      fb.localTee(x); from === "f32" ? fb.f32Const(0) : fb.f64Const(0); fb.op(`${from}.lt`);
      fb.localGet(x); from === "f32" ? fb.f32Const(0) : fb.f64Const(0); fb.op(`${from}.gt`);
      return fb.op("i32.or");
    }
    if (to === "int") return float(from) ? fb.op(`i32.trunc_sat_${from}_s`) : undefined;
    if (!float(from)) return fb.op(`${to}.convert_i32_s`);
    fb.op(to === "f64" ? "f64.promote_f32" : "f32.demote_f64");
  }

  // ---- Vector code.

  private vectorLoop(plan: VectorPlan): void {
    for (const { guard, store: s } of plan.stores) {
      if (guard) { this.scalar(guard); this.fb.if(); this.conditional++; }
      const home = this.home(s.buffer), at = laneZero(s.index[0]!, plan.v);
      if (home.registers) {
        this.vector(s.value, plan.v);
        this.fb.localSet(this.register(home, at)[0]);
      } else {
        const offset = this.address(home, at);
        this.vector(s.value, plan.v);
        this.fb.mem("v128.store", { offset, align: 4 });
        this.forget(home, s.buffer);
      }
      if (guard) { this.conditional--; this.fb.end(); }
    }
  }

  /**
   * Load reuse in a register-blocked inner loop: an unrolled tile reads each broadcast and each
   * vector of the other operand several times (MR x NR/4 multiply-adds from MR + NR/4 loads). V8
   * does not merge repeated loads from linear memory, and when it schedules them all ahead of the
   * multiply-adds they no longer fit in the 15 vector registers and spill (PERF-NOTES; a 4x8
   * tile ran at ~12 GFLOP/s with 16 loads per k step, ~35 with its 6 distinct ones on this
   * machine, from a standalone experiment). So within one iteration of a straight-line innermost
   * loop, the first use of a vector load keeps its value in a v128 local (local.tee) and later
   * uses read the local. A store to memory forgets what it may overwrite (`forget`), and a load
   * first made in conditional code is not remembered (it may not have run).
   */
  private cachedLoad(home: MemoryHome, e: Expr & { kind: "load" }, form: "splat" | "vector", load: () => void): void {
    const cache = this.loadCache, fb = this.fb;
    if (!cache) return load();
    const key = `${form}|${e.buffer}|${e.id}`;
    const hit = cache.get(key);
    if (hit) return fb.localGet(hit.local);
    load();
    if (this.conditional > 0) return;
    const used = new Set([...cache.values()].map((c) => c.local));
    const local = this.cacheLocals.find((x) => !used.has(x)) ?? fb.local("v128", `ld${this.cacheLocals.length}`);
    if (!this.cacheLocals.includes(local)) this.cacheLocals.push(local);
    cache.set(key, { local, buffer: e.buffer, scratch: home.local });
    fb.localTee(local);
  }

  /** After a store to memory: a local buffer overlaps only itself; inputs and outputs may share memory. */
  private forget(home: MemoryHome, buffer: string): void {
    const cache = this.loadCache;
    if (!cache) return;
    for (const [key, c] of cache) if (home.local ? c.buffer === buffer : !c.scratch) cache.delete(key);
  }

  /** Pushes the f32x4 of `e` over lanes v = 0..3 (vectorPlan has checked every case below). */
  private vector(e: Expr, v: string): void {
    const fb = this.fb;
    if (!mentions(e, v)) {
      const home = e.kind === "load" ? this.home(e.buffer) : undefined;
      if (e.kind === "load" && home && !home.registers) return this.cachedLoad(home, e, "splat", () => fb.mem("v128.load32_splat", { offset: this.address(home, e.index[0]!) }));
      this.scalar(e);
      return fb.op("f32x4.splat");
    }
    switch (e.kind) {
      case "load": {
        const home = this.home(e.buffer), at = laneZero(e.index[0]!, v);
        if (home.registers) return fb.localGet(this.register(home, at)[0]);
        return this.cachedLoad(home, e, "vector", () => fb.mem("v128.load", { offset: this.address(home, at), align: 4 }));
      }
      case "binary": {
        const product = e.op !== "+" ? undefined : e.a.kind === "binary" && e.a.op === "*" ? [e.a, e.b] as const : e.b.kind === "binary" && e.b.op === "*" ? [e.b, e.a] as const : undefined;
        if (product) {
          // a*b + c: relaxed madd where the target has it (one rounding instead of two).
          const [mul, c] = product;
          this.vector(mul.a, v); this.vector(mul.b, v); this.vector(c, v);
          return fb.f32x4Madd();
        }
        this.vector(e.a, v);
        this.vector(e.b, v);
        return fb.op(`f32x4.${({ "+": "add", "-": "sub", "*": "mul", "/": "div", min: "min", max: "max" } as const)[e.op as "+"]}`);
      }
      case "call": {
        this.vector(e.arg, v);
        if (!isHelper(e.fn)) return fb.op(`f32x4.${e.fn}`);
        if (hasVectorForm(e.fn)) {
          const x = fb.local("v128");
          fb.localSet(x);
          return emitVector(fb, e.fn, x);
        }
        // The other transcendentals go lane by lane through the scalar helper.
        const x = fb.local("v128"), helper = this.math.get(e.fn);
        fb.localTee(x);
        for (let lane = 0; lane < 4; lane++) {
          fb.localGet(x); fb.lane("f32x4.extract_lane", lane);
          fb.op("f64.promote_f32"); fb.call(helper); fb.op("f32.demote_f64");
          fb.lane("f32x4.replace_lane", lane);
        }
        return;
      }
      case "select":
        this.scalar(e.cond);
        fb.if(["v128"]);
        this.conditional++;
        this.vector(e.t, v);
        fb.else();
        this.vector(e.f, v);
        this.conditional--;
        fb.end();
        return;
      default: throw new InternalError(`kernel ${this.f.name}: ${e.kind} is not vectorizable`);
    }
  }
}

const mentions = (e: Expr, v: string): boolean => varsOf(e).has(v);

/** Whether loop `p` lies inside another loop of `s`. */
function nestedInLoop(s: Stmt, p: For, inLoop = false): boolean {
  switch (s.kind) {
    case "for": return s === p ? inLoop : nestedInLoop(s.body, p, true);
    case "seq": return s.body.some((b) => nestedInLoop(b, p, inLoop));
    case "if": return nestedInLoop(s.then, p, inLoop);
    case "alloc": return nestedInLoop(s.body, p, inLoop);
    case "store": return false;
  }
}

/**
 * index = base + coeff*v + offset, with base free of v and of loads (so it can be computed
 * ahead) and offset >= 0 split off only when base + coeff*v cannot be negative (built from loop
 * variables): wasm's effective address adds the memarg offset without wrapping.
 */
function splitIndex(index: Expr, v?: string): { base: Expr; v?: string; coeff: number; offset: number } | undefined {
  const l = linearize(index);
  const x = v === undefined ? undefined : ivar(v);
  const coeff = (x && l.terms.get(x)) ?? 0;
  const rest = new Map([...l.terms].filter(([t]) => t !== x));
  if ([...rest.keys()].some((t) => (v !== undefined && varsOf(t).has(v)) || loadsOf(t).length > 0)) return undefined;
  const nonnegative = coeff >= 0 && [...rest].every(([t, k]) => k > 0 && isNonnegative(t));
  const offset = nonnegative && l.c > 0 ? l.c : 0;
  return { base: fromLinear({ terms: rest, c: l.c - offset }), v, coeff, offset };
}

/** Loop variables, and sums, products, floor quotients and remainders of them by positive constants, are never negative. */
function isNonnegative(e: Expr): boolean {
  if (e.kind === "var") return true;
  if (e.kind === "const") return e.value >= 0;
  if (e.kind !== "binary" || e.type !== "int") return false;
  if (e.op === "/" || e.op === "%") return isNonnegative(e.a) && e.b.kind === "const" && e.b.value > 0;
  return (e.op === "+" || e.op === "*" || e.op === "min" || e.op === "max") && isNonnegative(e.a) && isNonnegative(e.b);
}

/** Accesses share a pointer when only their memarg offsets differ: same base address local (or none), type and index. */
const pointerKey = (home: MemoryHome, s: { base: Expr; v?: string; coeff: number }) =>
  `${home.base?.index ?? "memory"}|${home.type}|${s.base.id}|${s.v}|${s.coeff}`;
