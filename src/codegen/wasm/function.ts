/**
 * The function body builder: a checked assembler. Every instruction pops and pushes an operand
 * type stack and a stack of control frames, following the validation algorithm of the
 * WebAssembly spec (appendix "Validation Algorithm"), so bad code generation throws an
 * InternalError naming the instruction at emit time instead of failing later in
 * `WebAssembly.compile`. Instructions are encoded as they are emitted and also recorded, for
 * the WAT printer.
 */
import { InternalError } from "../../ir/errors.js";
import { f32, f64, sleb, u32 } from "./encoding.js";
import {
  opInfo, VALTYPE_CODE, type OpName, type OpsWith, type PlainOp, type ValType, type WasmFeatures,
} from "./opcodes.js";

export interface Local {
  readonly index: number;
  readonly type: ValType;
  readonly name?: string;
}

/** A branch target, handed out by block/loop/if; valid until its `end`. */
export interface Label {
  readonly id: number;
  readonly kind: "block" | "loop" | "if";
}

export interface MemArg {
  readonly offset?: number;
  /** In bytes: a power of two, at most the natural alignment (which is the default). */
  readonly align?: number;
}

export interface FuncRef {
  readonly index: number;
  readonly name: string;
  readonly paramTypes: readonly ValType[];
  readonly results: readonly ValType[];
}

export type Imm =
  | { readonly kind: "memarg"; readonly offset: number; readonly align: number }
  | { readonly kind: "lane"; readonly lane: number }
  | { readonly kind: "shuffle"; readonly lanes: readonly number[] }
  | { readonly kind: "i32" | "f32" | "f64"; readonly value: number }
  | { readonly kind: "i64"; readonly value: bigint }
  | { readonly kind: "v128"; readonly bytes: readonly number[] }
  | { readonly kind: "local"; readonly local: Local }
  | { readonly kind: "label"; readonly label: Label; readonly depth: number }
  | { readonly kind: "block"; readonly label: Label; readonly results: readonly ValType[] }
  | { readonly kind: "func"; readonly func: FuncRef };

export interface Instr {
  readonly op: OpName;
  readonly imm?: Imm;
}

/** What a function needs from its module. */
export interface ModuleContext {
  readonly features: WasmFeatures;
  /** The type index of `[] -> results`, for blocks with more than one result. */
  blockType(results: readonly ValType[]): number;
  owns(fn: FuncRef): boolean;
}

/** A stack slot; "unknown" is what unreachable code pops from an empty frame. */
type Slot = ValType | "unknown";

interface Frame {
  kind: "func" | "block" | "loop" | "if" | "else";
  readonly label?: Label;
  readonly results: readonly ValType[];
  /** Operand stack height at entry: a frame never pops below it. */
  readonly height: number;
  unreachable: boolean;
}

export class FunctionBuilder implements FuncRef {
  readonly params: readonly Local[];
  private readonly locals: Local[];
  private readonly code: number[] = [];
  private readonly instrs: Instr[] = [];
  private readonly stack: Slot[] = [];
  private readonly frames: Frame[];
  private labels = 0;
  private scratch?: Local;
  private touchesMemory = false;

  constructor(
    private readonly ctx: ModuleContext,
    /** Its function index, or undefined for a draft not yet in the module (ModuleBuilder.draft). */
    private placedAt: number | undefined,
    readonly name: string,
    readonly paramTypes: readonly ValType[],
    readonly results: readonly ValType[],
  ) {
    this.locals = paramTypes.map((type, index) => ({ index, type, name: `p${index}` }));
    this.params = this.locals.slice();
    this.frames = [{ kind: "func", results, height: 0, unreachable: false }];
  }

  get index(): number {
    if (this.placedAt === undefined) this.fail("index", "the function is a draft, not yet adopted by its module");
    return this.placedAt;
  }

  /** What the target engine supports. */
  get features(): WasmFeatures {
    return this.ctx.features;
  }

  get placed(): boolean {
    return this.placedAt !== undefined;
  }

  /** Called by the module when it adopts a draft. */
  place(index: number): void {
    if (this.placedAt !== undefined) this.fail("place", `the function already has index ${this.placedAt}`);
    this.placedAt = index;
  }

  get instructions(): readonly Instr[] {
    return this.instrs;
  }

  /** Parameters first, then declared locals, in index order. */
  get allLocals(): readonly Local[] {
    return this.locals;
  }

  /** Whether any instruction touches linear memory (the module must then have one). */
  get usesMemory(): boolean {
    return this.touchesMemory;
  }

  get finished(): boolean {
    return this.frames.length === 0;
  }

  local(type: ValType, name?: string): Local {
    const l = { index: this.locals.length, type, name };
    this.locals.push(l);
    return l;
  }

  // ---- Variables and constants.

  localGet(l: Local): void {
    this.checkLocal(l, "local.get");
    this.write("local.get", { kind: "local", local: l });
    this.push([l.type]);
  }

  localSet(l: Local): void {
    this.checkLocal(l, "local.set");
    this.pop([l.type], "local.set");
    this.write("local.set", { kind: "local", local: l });
  }

  localTee(l: Local): void {
    this.checkLocal(l, "local.tee");
    this.pop([l.type], "local.tee");
    this.write("local.tee", { kind: "local", local: l });
    this.push([l.type]);
  }

  /** Accepts signed or unsigned 32-bit values; stores them as their signed reading. */
  i32Const(n: number): void {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) this.fail("i32.const", `${n} is not a 32-bit integer`);
    this.typed("i32.const", { kind: "i32", value: n | 0 });
  }

  i64Const(n: bigint): void {
    if (n < -(2n ** 63n) || n >= 2n ** 64n) this.fail("i64.const", `${n} is not a 64-bit integer`);
    this.typed("i64.const", { kind: "i64", value: BigInt.asIntN(64, n) });
  }

  f32Const(x: number): void {
    this.typed("f32.const", { kind: "f32", value: Math.fround(x) });
  }

  f64Const(x: number): void {
    this.typed("f64.const", { kind: "f64", value: x });
  }

  /** 16 bytes, little-endian lanes (e.g. `new Uint8Array(new Float32Array([..4]).buffer)`). */
  v128Const(bytes: ArrayLike<number>): void {
    const b = Array.from(bytes);
    if (b.length !== 16 || !b.every(isByte)) this.fail("v128.const", `needs 16 bytes, got [${b.join(" ")}]`);
    this.typed("v128.const", { kind: "v128", bytes: b });
  }

  // ---- Instructions with a fixed signature.

  op(name: PlainOp): void {
    this.typed(name);
  }

  mem(name: OpsWith<"memarg">, m: MemArg = {}): void {
    const info = opInfo(name);
    const natural = info.align!;
    const align = m.align ?? natural;
    const offset = m.offset ?? 0;
    if (!isPow2(align) || align > natural) this.fail(name, `align ${align} must be a power of two <= ${natural}`);
    if (info.feature === "threads" && align !== natural) this.fail(name, `atomic accesses need align ${natural}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xffff_ffff) this.fail(name, `bad offset ${offset}`);
    this.touchesMemory = true;
    this.typed(name, { kind: "memarg", offset, align });
  }

  lane(name: OpsWith<"lane">, lane: number): void {
    const lanes = opInfo(name).lanes!;
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) this.fail(name, `lane ${lane} out of range 0..${lanes - 1}`);
    this.typed(name, { kind: "lane", lane });
  }

  /** i8x16.shuffle: lane i of the result is byte `lanes[i]` of a ++ b (0..31). */
  shuffle(lanes: readonly number[]): void {
    if (lanes.length !== 16 || !lanes.every((l) => Number.isInteger(l) && l >= 0 && l < 32)) {
      this.fail("i8x16.shuffle", `needs 16 lane indices in 0..31, got [${lanes.join(" ")}]`);
    }
    this.typed("i8x16.shuffle", { kind: "shuffle", lanes: lanes.slice() });
  }

  /** a b c -> a*b+c on f32x4: relaxed_madd when the target has relaxed SIMD, else mul, add. */
  f32x4Madd(): void {
    this.fma("f32x4.relaxed_madd", false);
  }

  /** a b c -> c-a*b on f32x4: relaxed_nmadd when the target has relaxed SIMD, else mul, neg, add. */
  f32x4Nmadd(): void {
    this.fma("f32x4.relaxed_nmadd", true);
  }

  // ---- Parametric.

  drop(): void {
    this.popAny("drop");
    this.write("drop");
  }

  /** a b cond -> cond ? a : b */
  select(): void {
    this.pop(["i32"], "select");
    const b = this.popAny("select");
    const a = this.popAny("select");
    if (a !== b && a !== "unknown" && b !== "unknown") this.fail("select", `operands differ: [${a} ${b}]`);
    this.write("select");
    this.stack.push(a === "unknown" ? b : a);
  }

  // ---- Control.

  block(results: readonly ValType[] = []): Label {
    return this.open("block", results);
  }

  loop(results: readonly ValType[] = []): Label {
    return this.open("loop", results);
  }

  if(results: readonly ValType[] = []): Label {
    this.pop(["i32"], "if");
    return this.open("if", results);
  }

  else(): void {
    const f = this.top("else");
    if (f.kind !== "if") this.fail("else", `the innermost open block is ${this.frameName(f)}, not an if`);
    this.close(f, "else");
    this.write("else");
    f.kind = "else";
    f.unreachable = false;
  }

  end(): void {
    const f = this.top("end");
    if (f.kind === "func") this.fail("end", "no open block (the function's own end is written by finish())");
    if (f.kind === "if" && f.results.length > 0) this.fail("end", `${this.frameName(f)} has results, so it needs an else`);
    this.close(f, "end");
    this.write("end");
    this.frames.pop();
    this.push(f.results);
  }

  br(label: Label): void {
    const depth = this.depth(label, "br");
    this.pop(this.branchTypes(depth), "br");
    this.write("br", { kind: "label", label, depth });
    this.setUnreachable();
  }

  brIf(label: Label): void {
    const depth = this.depth(label, "br_if");
    this.pop(["i32"], "br_if");
    const types = this.branchTypes(depth);
    this.pop(types, "br_if");
    this.write("br_if", { kind: "label", label, depth });
    this.push(types);
  }

  return(): void {
    this.pop(this.results, "return");
    this.write("return");
    this.setUnreachable();
  }

  unreachable(): void {
    this.write("unreachable");
    this.setUnreachable();
  }

  call(fn: FuncRef): void {
    const op = `call $${fn.name}`;
    if (!this.ctx.owns(fn)) this.fail(op, "the callee belongs to another module");
    this.pop(fn.paramTypes, op);
    this.write("call", { kind: "func", func: fn });
    this.push(fn.results);
  }

  /** Writes the function's final `end`; every block must be closed and the results in place. */
  finish(): void {
    const f = this.top("finish");
    if (f.kind !== "func") {
      this.fail("finish", `missing end: ${this.frames.length - 1} block(s) still open, innermost ${this.frameName(f)}`);
    }
    this.close(f, "function end");
    this.code.push(0x0b);
    this.frames.pop();
  }

  /** The code-section entry: size, local declarations (runs of equal types), body. */
  encode(): number[] {
    if (!this.finished) this.fail("encode", "the function is not finished");
    const runs: [number, ValType][] = [];
    for (const l of this.locals.slice(this.paramTypes.length)) {
      const last = runs[runs.length - 1];
      if (last?.[1] === l.type) last[0]++;
      else runs.push([1, l.type]);
    }
    const body = [...u32(runs.length), ...runs.flatMap(([n, t]) => [...u32(n), VALTYPE_CODE[t]]), ...this.code];
    return [...u32(body.length), ...body];
  }

  // ---- Internals.

  private fma(op: "f32x4.relaxed_madd" | "f32x4.relaxed_nmadd", negate: boolean): void {
    if (this.ctx.features.relaxedSimd) return this.op(op);
    // c is on top; park it so a*b can be formed first.
    const c = (this.scratch ??= this.local("v128", "fma_c"));
    this.localSet(c);
    this.op("f32x4.mul");
    if (negate) this.op("f32x4.neg");
    this.localGet(c);
    this.op("f32x4.add");
  }

  /** Emits an instruction typed by its table signature, if the target has its feature. */
  private typed(op: OpName, imm?: Imm): void {
    const info = opInfo(op);
    if (info.feature && !this.ctx.features[info.feature]) this.fail(op, `the target lacks ${info.feature}`);
    this.pop(info.pops!, op);
    this.write(op, imm);
    this.push(info.pushes!);
  }

  /** Encodes and records (typing is the caller's job). */
  private write(op: OpName, imm?: Imm): void {
    this.top(op);
    this.code.push(...opInfo(op).bytes, ...this.encodeImm(imm));
    this.instrs.push(imm ? { op, imm } : { op });
  }

  private encodeImm(imm: Imm | undefined): number[] {
    switch (imm?.kind) {
      case undefined: return [];
      case "memarg": return [...u32(Math.log2(imm.align)), ...u32(imm.offset)];
      case "lane": return [imm.lane];
      case "shuffle": return [...imm.lanes];
      case "i32": return sleb(BigInt(imm.value));
      case "i64": return sleb(imm.value);
      case "f32": return f32(imm.value);
      case "f64": return f64(imm.value);
      case "v128": return [...imm.bytes];
      case "local": return u32(imm.local.index);
      case "label": return u32(imm.depth);
      case "func": return u32(imm.func.index);
      case "block": {
        const r = imm.results;
        // Empty and single-result block types are inline; others name a type (an s33 index).
        return r.length === 0 ? [0x40] : r.length === 1 ? [VALTYPE_CODE[r[0]!]] : sleb(BigInt(this.ctx.blockType(r)));
      }
    }
  }

  private open(kind: "block" | "loop" | "if", results: readonly ValType[]): Label {
    const label: Label = { id: this.labels++, kind };
    this.write(kind, { kind: "block", label, results: results.slice() });
    this.frames.push({ kind, label, results, height: this.stack.length, unreachable: false });
    return label;
  }

  /** Checks that the frame's operands are exactly its results, then empties it. */
  private close(f: Frame, op: string): void {
    const got = this.stack.slice(f.height);
    const want = f.results;
    // Unreachable code may leave fewer values: the rest come from the polymorphic stack.
    const ok = got.length === want.length || (f.unreachable && got.length < want.length);
    if (!ok || !matches(got, want.slice(want.length - got.length))) {
      this.fail(op, `${this.frameName(f)} must leave [${want.join(" ")}], found [${got.join(" ")}]`);
    }
    this.stack.length = f.height;
  }

  private pop(want: readonly ValType[], op: string): void {
    const f = this.top(op);
    const n = Math.min(want.length, this.stack.length - f.height);
    const got = this.stack.slice(this.stack.length - n);
    if ((n < want.length && !f.unreachable) || !matches(got, want.slice(want.length - n))) {
      this.fail(op, `expected [${want.join(" ")}], got [${got.join(" ")}]`);
    }
    this.stack.length -= n;
  }

  private popAny(op: string): Slot {
    const f = this.top(op);
    if (this.stack.length > f.height) return this.stack.pop()!;
    if (!f.unreachable) this.fail(op, "expected a value, got []");
    return "unknown";
  }

  private push(types: readonly ValType[]): void {
    this.stack.push(...types);
  }

  private setUnreachable(): void {
    const f = this.top("unreachable");
    this.stack.length = f.height;
    f.unreachable = true;
  }

  private top(op: string): Frame {
    const f = this.frames[this.frames.length - 1];
    if (!f) this.fail(op, "the function is already finished");
    return f;
  }

  private depth(label: Label, op: string): number {
    const i = this.frames.findIndex((f) => f.label === label);
    if (i < 0) this.fail(op, `label $L${label.id} is not in scope (its block has ended, or it belongs to another function)`);
    return this.frames.length - 1 - i;
  }

  /** A branch to a loop restarts it (no values); to anything else, leaves it with its results. */
  private branchTypes(depth: number): readonly ValType[] {
    const f = this.frames[this.frames.length - 1 - depth]!;
    return f.kind === "loop" ? [] : f.results;
  }

  private checkLocal(l: Local, op: string): void {
    if (this.locals[l.index] !== l) this.fail(op, `local ${l.name ?? l.index} belongs to another function`);
  }

  private frameName(f: Frame): string {
    return f.label ? `${f.kind} $L${f.label.id}` : `function $${this.name}`;
  }

  private fail(op: string, message: string): never {
    throw new InternalError(`wasm $${this.name}: ${op}: ${message}`);
  }
}

function matches(got: readonly Slot[], want: readonly ValType[]): boolean {
  return got.length === want.length && got.every((t, i) => t === "unknown" || t === want[i]);
}

function isByte(b: number): boolean {
  return Number.isInteger(b) && b >= 0 && b < 256;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
