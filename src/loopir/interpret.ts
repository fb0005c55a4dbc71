/**
 * A direct interpreter of lowered loop statements over Float32Array/Float64Array buffers: the
 * reference the wasm and JS code generators are checked against. f32 arithmetic rounds after
 * every operation, as f32 code does. Parallel loops run their iterations in reverse, so a
 * schedule that made iterations depend on each other shows up as a wrong result.
 */
import { InputError, InternalError } from "../ir/errors.js";
import { shapeSize } from "../ir/tensor.js";
import type { Expr, MathFn } from "./expr.js";
import { castValue, evalBinary, evalCompare } from "./simplify.js";
import type { BufferDecl, Func, Stmt } from "./stmt.js";

export type Buffer = Float32Array | Float64Array;

const MATH: { readonly [F in MathFn]: (x: number) => number } = {
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, tanh: Math.tanh, abs: Math.abs,
  erf, sigmoid: (x) => 1 / (1 + Math.exp(-x)), neg: (x) => -x,
};

/** Run `f`, reading its inputs from and writing its outputs into `args` (by buffer name). */
export function interpret(f: Func, args: Readonly<Record<string, Buffer>>): void {
  const buffers = new Map<string, Buffer>();
  for (const b of [...f.inputs, ...f.outputs]) {
    const a = args[b.name];
    if (!a) throw new InputError(`${f.name}: missing buffer ${b.name}`);
    if (a.length !== shapeSize(b.shape) || (b.type === "f32") !== a instanceof Float32Array) {
      throw new InputError(`${f.name}: buffer ${b.name} must be ${b.type} with ${shapeSize(b.shape)} elements`);
    }
    buffers.set(b.name, a);
  }
  exec(f.body, buffers, new Map());
}

const allocate = (b: BufferDecl): Buffer => (b.type === "f32" ? new Float32Array(shapeSize(b.shape)) : new Float64Array(shapeSize(b.shape)));

function exec(s: Stmt, buffers: Map<string, Buffer>, vars: Map<string, number>): void {
  switch (s.kind) {
    case "for": {
      const backwards = s.loop === "parallel";
      for (let k = 0; k < s.extent; k++) {
        vars.set(s.v, backwards ? s.extent - 1 - k : k);
        exec(s.body, buffers, vars);
      }
      vars.delete(s.v);
      return;
    }
    case "seq": for (const b of s.body) exec(b, buffers, vars); return;
    case "store": {
      const buf = bufferOf(buffers, s.buffer);
      buf[offset(buf, s.buffer, s.index, buffers, vars)] = evaluate(s.value, buffers, vars);
      return;
    }
    case "alloc": {
      const outer = buffers.get(s.buffer.name);
      buffers.set(s.buffer.name, allocate(s.buffer));
      exec(s.body, buffers, vars);
      if (outer) buffers.set(s.buffer.name, outer);
      else buffers.delete(s.buffer.name);
      return;
    }
    case "if": if (evaluate(s.cond, buffers, vars)) exec(s.then, buffers, vars); return;
  }
}

function bufferOf(buffers: Map<string, Buffer>, name: string): Buffer {
  const b = buffers.get(name);
  if (!b) throw new InternalError(`loop IR uses undeclared buffer ${name}`);
  return b;
}

function offset(buf: Buffer, name: string, index: readonly Expr[], buffers: Map<string, Buffer>, vars: Map<string, number>): number {
  if (index.length !== 1) throw new InternalError(`${name}: index is not flat`);
  const i = evaluate(index[0]!, buffers, vars);
  if (!Number.isInteger(i) || i < 0 || i >= buf.length) throw new InternalError(`${name}[${i}] is out of bounds (length ${buf.length})`);
  return i;
}

function evaluate(e: Expr, buffers: Map<string, Buffer>, vars: Map<string, number>): number {
  const ev = (x: Expr) => evaluate(x, buffers, vars);
  const round = (v: number) => (e.type === "f32" ? Math.fround(v) : v);
  switch (e.kind) {
    case "const": return e.value;
    case "var": {
      const v = vars.get(e.name);
      if (v === undefined) throw new InternalError(`unbound variable ${e.name}`);
      return v;
    }
    case "binary": return round(evalBinary(e.op, ev(e.a), ev(e.b), e.type === "int"));
    case "compare": return evalCompare(e.op, ev(e.a), ev(e.b)) ? 1 : 0;
    case "logic": return e.op === "&&" ? (ev(e.a) && ev(e.b) ? 1 : 0) : ev(e.a) || ev(e.b) ? 1 : 0;
    case "select": return ev(e.cond) ? ev(e.t) : ev(e.f);
    case "load": {
      const buf = bufferOf(buffers, e.buffer);
      return buf[offset(buf, e.buffer, e.index, buffers, vars)]!;
    }
    case "call": return round(MATH[e.fn](ev(e.arg)));
    case "cast": return castValue(ev(e.value), e.type);
  }
}

/** erf with absolute error under 1.5e-7 (Abramowitz and Stegun 7.1.26), enough for f32. */
function erf(x: number): number {
  const a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return Math.sign(x) * y;
}
