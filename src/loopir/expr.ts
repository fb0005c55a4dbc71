/**
 * Scalar and index expressions of the loop IR. Nodes are immutable and interned: the factories
 * below return the same object for structurally equal expressions, so `===` is structural
 * equality and expressions can key plain `Map`s.
 *
 * Integer `/` and `%` are floor division and floor modulo (the index arithmetic of tiling);
 * float `/` is true division and float `%` is JavaScript's remainder. `select` evaluates only
 * the chosen side, so it can guard an out-of-range load (padding).
 */
import { InternalError, UnsupportedError } from "../ir/errors.js";

export type FloatType = "f32" | "f64";
export type ScalarType = "int" | "bool" | FloatType;
export type BinOp = "+" | "-" | "*" | "/" | "%" | "min" | "max";
export type CmpOp = "<" | "<=" | "==" | "!=";
export type LogicOp = "&&" | "||";
export const MATH_FNS = ["exp", "log", "sqrt", "tanh", "erf", "sigmoid", "abs", "neg"] as const;
export type MathFn = (typeof MATH_FNS)[number];

interface Base { readonly id: number; readonly type: ScalarType }
export interface Const extends Base { readonly kind: "const"; readonly value: number }
export interface Var extends Base { readonly kind: "var"; readonly name: string }
export interface Binary extends Base { readonly kind: "binary"; readonly op: BinOp; readonly a: Expr; readonly b: Expr }
export interface Compare extends Base { readonly kind: "compare"; readonly op: CmpOp; readonly a: Expr; readonly b: Expr }
export interface Logic extends Base { readonly kind: "logic"; readonly op: LogicOp; readonly a: Expr; readonly b: Expr }
export interface Select extends Base { readonly kind: "select"; readonly cond: Expr; readonly t: Expr; readonly f: Expr }
export interface Load extends Base { readonly kind: "load"; readonly type: FloatType; readonly buffer: string; readonly index: readonly Expr[] }
export interface Call extends Base { readonly kind: "call"; readonly fn: MathFn; readonly arg: Expr }
export interface Cast extends Base { readonly kind: "cast"; readonly value: Expr }
export type Expr = Const | Var | Binary | Compare | Logic | Select | Load | Call | Cast;

/** A number stands for a constant of the other operand's type (int when both are numbers). */
export type Operand = Expr | number;

const table = new Map<string, Expr>();
let nextId = 0;

type Fields<E extends Expr> = E extends Expr ? Omit<E, "id"> : never;

function intern<E extends Expr>(key: string, fields: Fields<E>): E {
  const k = `${fields.kind}|${fields.type}|${key}`;
  let e = table.get(k);
  if (e === undefined) {
    e = Object.freeze({ ...fields, id: nextId++ }) as unknown as Expr;
    table.set(k, e);
  }
  return e as E;
}

const numKey = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

export function lit(value: number, type: ScalarType = Number.isInteger(value) ? "int" : "f32"): Const {
  if ((type === "int" || type === "bool") && !Number.isInteger(value)) throw new InternalError(`constant ${value} is not an ${type}`);
  // Index arithmetic is 32-bit: an attribute that asks for more (a dilation of 2^40) leaves the node to the interpreter.
  if (type === "int" && (value < -(2 ** 31) || value >= 2 ** 31)) throw new UnsupportedError(`index constant ${value} does not fit 32 bits`, "index beyond 32 bits");
  const v = type === "f32" ? Math.fround(value) : type === "bool" ? (value ? 1 : 0) : value;
  return intern<Const>(numKey(v), { kind: "const", type, value: v });
}
export const TRUE = lit(1, "bool");
export const FALSE = lit(0, "bool");

/** An integer loop or index variable. */
export const ivar = (name: string): Var => intern<Var>(name, { kind: "var", type: "int", name });

function pair(a: Operand, b: Operand, what: string): [Expr, Expr] {
  const ea = typeof a === "number" ? lit(a, typeof b === "number" ? undefined : b.type) : a;
  const eb = typeof b === "number" ? lit(b, ea.type) : b;
  if (ea.type !== eb.type) throw new InternalError(`${what}: operand types differ (${ea.type} and ${eb.type})`);
  return [ea, eb];
}

export function binary(op: BinOp, a: Operand, b: Operand): Binary {
  const [x, y] = pair(a, b, op);
  if (x.type === "bool") throw new InternalError(`${op}: bool operands`);
  return intern<Binary>(`${op}|${x.id}|${y.id}`, { kind: "binary", type: x.type, op, a: x, b: y });
}
export const add = (a: Operand, b: Operand) => binary("+", a, b);
export const sub = (a: Operand, b: Operand) => binary("-", a, b);
export const mul = (a: Operand, b: Operand) => binary("*", a, b);
export const div = (a: Operand, b: Operand) => binary("/", a, b);
export const mod = (a: Operand, b: Operand) => binary("%", a, b);
export const min = (a: Operand, b: Operand) => binary("min", a, b);
export const max = (a: Operand, b: Operand) => binary("max", a, b);

export function compare(op: CmpOp, a: Operand, b: Operand): Compare {
  const [x, y] = pair(a, b, op);
  return intern<Compare>(`${op}|${x.id}|${y.id}`, { kind: "compare", type: "bool", op, a: x, b: y });
}
export const lt = (a: Operand, b: Operand) => compare("<", a, b);
export const le = (a: Operand, b: Operand) => compare("<=", a, b);
export const gt = (a: Operand, b: Operand) => compare("<", b, a);
export const ge = (a: Operand, b: Operand) => compare("<=", b, a);
export const eq = (a: Operand, b: Operand) => compare("==", a, b);
export const ne = (a: Operand, b: Operand) => compare("!=", a, b);

export function logic(op: LogicOp, a: Expr, b: Expr): Logic {
  if (a.type !== "bool" || b.type !== "bool") throw new InternalError(`${op}: operands must be bool`);
  return intern<Logic>(`${op}|${a.id}|${b.id}`, { kind: "logic", type: "bool", op, a, b });
}
/** Conjunction of any number of conditions (`TRUE` for none). */
export const and = (...cs: Expr[]): Expr => (cs.length === 0 ? TRUE : cs.reduce((x, y) => logic("&&", x, y)));
export const or = (a: Expr, b: Expr) => logic("||", a, b);

export function select(cond: Expr, t: Operand, f: Operand): Select {
  if (cond.type !== "bool") throw new InternalError("select: condition must be bool");
  const [x, y] = pair(t, f, "select");
  return intern<Select>(`${cond.id}|${x.id}|${y.id}`, { kind: "select", type: x.type, cond, t: x, f: y });
}

export function load(buffer: string, index: readonly Operand[], type: FloatType): Load {
  const idx = index.map((e) => (typeof e === "number" ? lit(e, "int") : e));
  if (idx.some((e) => e.type !== "int")) throw new InternalError(`load ${buffer}: indices must be int`);
  return intern<Load>(`${buffer}|${idx.map((e) => e.id).join(",")}`, { kind: "load", type, buffer, index: idx });
}

export function call(fn: MathFn, arg: Expr): Call {
  if (arg.type !== "f32" && arg.type !== "f64") throw new InternalError(`${fn}: argument must be a float`);
  return intern<Call>(`${fn}|${arg.id}`, { kind: "call", type: arg.type, fn, arg });
}
export const exp = (x: Expr) => call("exp", x);
export const tanh = (x: Expr) => call("tanh", x);
export const erf = (x: Expr) => call("erf", x);
export const sigmoid = (x: Expr) => call("sigmoid", x);

export function cast(type: ScalarType, value: Expr): Expr {
  return value.type === type ? value : intern<Cast>(`${value.id}`, { kind: "cast", type, value });
}

/** The direct sub-expressions of `e`. */
export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case "const": case "var": return [];
    case "binary": case "compare": case "logic": return [e.a, e.b];
    case "select": return [e.cond, e.t, e.f];
    case "load": return e.index;
    case "call": return [e.arg];
    case "cast": return [e.value];
  }
}

/** `e` with its children replaced (the same object when nothing changed). */
export function withChildren(e: Expr, c: readonly Expr[]): Expr {
  if (c.every((x, i) => x === children(e)[i])) return e;
  switch (e.kind) {
    case "const": case "var": return e;
    case "binary": return binary(e.op, c[0]!, c[1]!);
    case "compare": return compare(e.op, c[0]!, c[1]!);
    case "logic": return logic(e.op, c[0]!, c[1]!);
    case "select": return select(c[0]!, c[1]!, c[2]!);
    case "load": return load(e.buffer, c, e.type);
    case "call": return call(e.fn, c[0]!);
    case "cast": return cast(e.type, c[0]!);
  }
}

/** Bottom-up rewrite: `fn` sees each node after its children were rewritten (memoized per call). */
export function mapExpr(e: Expr, fn: (e: Expr) => Expr, memo = new Map<Expr, Expr>()): Expr {
  const hit = memo.get(e);
  if (hit !== undefined) return hit;
  const out = fn(withChildren(e, children(e).map((c) => mapExpr(c, fn, memo))));
  memo.set(e, out);
  return out;
}

/** Replace variables by expressions, all at once. */
export function substitute(e: Expr, values: ReadonlyMap<string, Expr>): Expr {
  if (values.size === 0) return e;
  return mapExpr(e, (x) => (x.kind === "var" ? values.get(x.name) ?? x : x));
}

/** Names of the variables `e` mentions. */
export function varsOf(e: Expr, out = new Set<string>()): Set<string> {
  if (e.kind === "var") out.add(e.name);
  for (const c of children(e)) varsOf(c, out);
  return out;
}

/** Every load in `e`, outermost first. */
export function loadsOf(e: Expr, out: Load[] = []): Load[] {
  if (e.kind === "load") out.push(e);
  for (const c of children(e)) loadsOf(c, out);
  return out;
}
