/**
 * One kernel's source: a factory `function kernelN()` that creates the typed-array views once
 * and returns the kernel `(share, shares, slot) => void`. Buffers and loop variables get generated
 * names (b0, b1, ..., i0, i1, ...); nothing from the IR but numbers reaches the text.
 */
import { InternalError } from "../../ir/errors.js";
import { shapeSize } from "../../ir/tensor.js";
import type { Expr } from "../../loopir/expr.js";
import type { BufferDecl, For, Func, Stmt } from "../../loopir/stmt.js";
import { type Scope, emitExpr } from "./expr.js";
import type { Helper } from "./helpers.js";
import { splitLoop } from "./parallel.js";
import { ScratchStack } from "./scratch.js";

/** Where the buffers live in the shared memory. */
export interface Placement {
  /** Byte offset of every input and output buffer, by name. */
  readonly buffers: ReadonlyMap<string, number>;
  /** Worker w's scratch region starts at `offset + w * bytesPerWorker` (both multiples of 16). */
  readonly scratch: { readonly offset: number; readonly bytesPerWorker: number };
}

const INDENT = "  ";
const arrayOf = (b: BufferDecl) => (b.type === "f32" ? "Float32Array" : "Float64Array");
const describe = (b: BufferDecl) => `${b.type}[${b.shape.join(", ")}]`;

/** Source lines of kernel `k`'s factory, indented by `depth`; adds the helpers it uses to `helpers`. */
export function emitKernel(f: Func, k: number, placement: Placement, helpers: Set<Helper>, depth: number): string[] {
  const split = splitLoop(f);
  const e = new KernelEmitter(f, placement, helpers, split);
  const body = e.body();
  const pad = (n: number) => INDENT.repeat(depth + n);
  const lines = [`${pad(0)}// kernel ${k}: ${f.inputs.length} input(s), ${f.outputs.length} output(s)`, `${pad(0)}function kernel${k}() {`];
  lines.push(...e.views.map((v) => `${pad(1)}${v}`));
  if (e.scratch.length > 0) {
    lines.push(
      `${pad(1)}// the scratch buffers of a slot, created on its first call`,
      `${pad(1)}const scratch = (slot) => {`,
      `${pad(2)}const base = ${placement.scratch.offset} + slot * ${placement.scratch.bytesPerWorker};`,
      `${pad(2)}return [`,
      ...e.scratch.map((s) => `${pad(3)}${s}`),
      `${pad(2)}];`,
      `${pad(1)}};`,
      `${pad(1)}const views = [];`,
    );
  }
  lines.push(`${pad(1)}return (worker, workers, slot) => {`);
  if (!split) lines.push(`${pad(2)}if (worker !== 0) return; // no loop to split: worker 0 runs it all`);
  if (e.scratch.length > 0) lines.push(`${pad(2)}const [${e.scratchNames.join(", ")}] = views[slot] ??= scratch(slot);`);
  if (split) {
    lines.push(
      `${pad(2)}// this worker's share of the parallel loop`,
      `${pad(2)}const lo = Math.floor(${split.extent} * worker / workers), hi = Math.floor(${split.extent} * (worker + 1) / workers);`,
    );
  }
  lines.push(...body.map((l) => `${pad(2)}${l}`), `${pad(1)}};`, `${pad(0)}}`);
  return lines;
}

class KernelEmitter {
  /** Declarations of the input and output views. */
  readonly views: string[] = [];
  /** Constructors of the scratch views, and their names. */
  readonly scratch: string[] = [];
  readonly scratchNames: string[] = [];
  private readonly stack = new ScratchStack();
  private readonly lines: string[] = [];
  private buffers = new Map<string, string>();
  private vars = new Map<string, string>();
  private nextBuffer = 0;
  private nextVar = 0;
  private depth = 0;

  constructor(
    private readonly f: Func,
    private readonly placement: Placement,
    private readonly helpers: Set<Helper>,
    /** The loop split across workers, if any. */
    private readonly split: For | undefined,
  ) {
    const params: [BufferDecl, string][] = [...f.inputs.map((b, i): [BufferDecl, string] => [b, `input ${i}`]),
      ...f.outputs.map((b, i): [BufferDecl, string] => [b, `output ${i}`])];
    for (const [b, role] of params) {
      const at = placement.buffers.get(b.name);
      if (at === undefined) throw new InternalError(`JS codegen: no placement for ${role} of kernel ${f.name}`);
      checkAligned(at, b.type === "f32" ? 4 : 8, `${role} of kernel ${f.name}`);
      const name = this.newBuffer(b.name);
      this.views.push(`const ${name} = new ${arrayOf(b)}(memory.buffer, ${at}, ${shapeSize(b.shape)}); // ${role}: ${describe(b)}`);
    }
    checkAligned(placement.scratch.offset, 16, "scratch region");
    if (placement.scratch.bytesPerWorker % 16 !== 0) throw new InternalError("JS codegen: scratch bytesPerWorker must be a multiple of 16");
  }

  /** The kernel body's lines. */
  body(): string[] {
    this.stmt(this.f.body);
    if (this.stack.peak > this.placement.scratch.bytesPerWorker) {
      throw new InternalError(`JS codegen: kernel ${this.f.name} needs ${this.stack.peak} scratch bytes per worker, has ${this.placement.scratch.bytesPerWorker}`);
    }
    return this.lines;
  }

  private newBuffer(irName: string): string {
    const name = `b${this.nextBuffer++}`;
    this.buffers.set(irName, name);
    return name;
  }

  private line(text: string): void {
    this.lines.push(INDENT.repeat(this.depth) + text);
  }

  private readonly scope: Scope = {
    variable: (n) => this.vars.get(n) ?? fail(`unbound variable in kernel ${this.f.name}`),
    buffer: (n) => this.buffers.get(n) ?? fail(`undeclared buffer in kernel ${this.f.name}`),
    use: (h) => this.helpers.add(h),
  };

  private expr = (e: Expr) => emitExpr(e, this.scope);

  private block(open: string, body: () => void): void {
    this.line(`${open} {`);
    this.depth++;
    body();
    this.depth--;
    this.line("}");
  }

  private stmt(s: Stmt): void {
    switch (s.kind) {
      case "seq": return s.body.forEach((b) => this.stmt(b));
      case "store": {
        if (s.index.length !== 1) throw new InternalError("JS codegen: store index is not flat");
        return this.line(`${this.scope.buffer(s.buffer)}[${this.expr(s.index[0]!)}] = ${this.expr(s.value)};`);
      }
      case "if": return this.block(`if (${this.expr(s.cond)})`, () => this.stmt(s.then));
      case "for": return this.loop(s);
      case "alloc": return this.alloc(s.buffer, s.body);
    }
  }

  private loop(s: For): void {
    const outer = this.vars;
    const v = `i${this.nextVar++}`;
    this.vars = new Map([...outer, [s.v, v]]);
    const [from, to] = s === this.split ? ["lo", "hi"] : ["0", String(s.extent)];
    const note = s === this.split ? " // split across workers" : s.loop === "serial" ? "" : ` // ${s.loop}`;
    this.line(`for (let ${v} = ${from}; ${v} < ${to}; ${v}++) {${note}`);
    this.depth++;
    this.stmt(s.body);
    this.depth--;
    this.line("}");
    this.vars = outer;
  }

  /** A scratch buffer, zeroed on entry (the interpreter's Alloc is a fresh zeroed array). */
  private alloc(b: BufferDecl, body: Stmt): void {
    const at = this.stack.push(b);
    const outer = this.buffers;
    this.buffers = new Map(outer);
    const name = this.newBuffer(b.name);
    this.scratchNames.push(name);
    this.scratch.push(`new ${arrayOf(b)}(memory.buffer, ${at === 0 ? "base" : `base + ${at}`}, ${shapeSize(b.shape)}), // ${name}: ${describe(b)}`);
    this.line(`${name}.fill(0);`);
    this.stmt(body);
    this.buffers = outer;
    this.stack.pop(at);
  }
}

function checkAligned(at: number, size: number, what: string): void {
  if (!Number.isInteger(at) || at < 0 || at % size !== 0) throw new InternalError(`JS codegen: ${what} at byte ${at} is not ${size}-byte aligned`);
}

function fail(message: string): never {
  throw new InternalError(`JS codegen: ${message}`);
}
