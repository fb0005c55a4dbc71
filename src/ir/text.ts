/**
 * The textual form of the graph IR, with a printer and a parser that round-trip exactly:
 * `printModel(parseModel(text)) === text` for any printed text.
 *
 *   opset "" 17
 *   graph "tiny" (%x: f32[N,3,32,32]) -> (%y: f32[N,10]) {
 *     %w: f32[16,3,3,3] = init base64"AAAA..."
 *     %c: f32[N,16,32,32] = Conv "conv0" (%x, %w, _) {pads=ints[1,1,1,1]}
 *     %y: f32[N,10] = Softmax (%c) {axis=1}
 *   }
 *
 * Values are `%name` (or `%"quoted"` when the name is not a plain identifier), `_` is an omitted
 * input or output, floats carry an `f` suffix (`0.2f`), lists name their element type
 * (`ints[...]`), small tensors print their values and larger ones their bytes in base64.
 */
import { DTYPE_INFO, dtypeFromShort, isBigInt, isFloat, type DType } from "./dtype.js";
import { ModelError } from "./errors.js";
import type { Attr, Graph, Model, Node, ValueInfo } from "./graph.js";
import { Tensor, shapeSize } from "./tensor.js";
import type { Dim, TensorType } from "./types.js";
import { quoted } from "./escape.js";

/** Tensors up to this many elements print their values; larger ones print base64 bytes. */
const INLINE_ELEMENTS = 16;

// ---------------------------------------------------------------------------------------------
// Printer

export interface PrintOptions {
  /** For reading, not parsing: print tensors over this many bytes as `<N bytes>`. */
  readonly elideTensorBytes?: number;
}

export function printModel(model: Model, options: PrintOptions = {}): string {
  const lines = Object.keys(model.opsets).sort().map((d) => `opset ${quoted(d)} ${model.opsets[d]}`);
  return `${lines.join("\n")}\n${printGraph(model.graph, "", options)}\n`;
}

export function printGraph(g: Graph, indent = "", options: PrintOptions = {}): string {
  const inner = `${indent}  `;
  const head = `graph ${quoted(g.name)} (${g.inputs.map(printValueInfo).join(", ")}) -> (${g.outputs.map(printValueInfo).join(", ")}) {`;
  const body: string[] = [];
  for (const [name, t] of g.initializers) body.push(`${inner}${valueName(name)}: ${printType({ dtype: t.dtype, shape: t.shape })} = init ${printTensorData(t, options)}`);
  for (const n of g.nodes) body.push(inner + printNode(n, g, inner, options));
  return [head, ...body, `${indent}}`].join("\n");
}

function printNode(n: Node, g: Graph, indent: string, options: PrintOptions): string {
  const outs = n.outputs.map((o) => {
    if (o === "") return "_";
    const t = g.valueTypes.get(o);
    return t ? `${valueName(o)}: ${printType(t)}` : valueName(o);
  });
  const name = n.name ? ` ${quoted(n.name)}` : "";
  const ins = n.inputs.map((i) => (i === "" ? "_" : valueName(i))).join(", ");
  const keys = Object.keys(n.attrs).sort();
  const attrs = keys.length ? ` {${keys.map((k) => `${k}=${printAttr(n.attrs[k]!, indent, options)}`).join(", ")}}` : "";
  return `${outs.join(", ")} = ${n.op}${name} (${ins})${attrs}`;
}

function printValueInfo(v: ValueInfo): string {
  return `${valueName(v.name)}: ${printType(v.type)}`;
}

const BARE_NAME = /^[A-Za-z0-9_.\/-]+$/;

function valueName(name: string): string {
  return BARE_NAME.test(name) ? `%${name}` : `%${quoted(name)}`;
}

export function printType(t: TensorType): string {
  return `${DTYPE_INFO[t.dtype].short}${t.shape === null ? "[?]" : `[${t.shape.join(",")}]`}`;
}

function printAttr(a: Attr, indent: string, options: PrintOptions): string {
  switch (a.type) {
    case "int": return String(a.value);
    case "float": return `${printFloat32(a.value)}f`;
    case "string": return quoted(a.value);
    case "ints": return `ints[${a.value.join(",")}]`;
    case "floats": return `floats[${a.value.map(printFloat32).join(",")}]`;
    case "strings": return `strings[${a.value.map((s) => quoted(s)).join(",")}]`;
    case "tensor": return printTensor(a.value, options);
    case "tensors": return `tensors[${a.value.map((t) => printTensor(t, options)).join(", ")}]`;
    case "graph": return printGraph(a.value, indent, options);
    case "graphs": return `graphs[${a.value.map((g) => printGraph(g, indent, options)).join(", ")}]`;
  }
}

function printTensor(t: Tensor, options: PrintOptions): string {
  return `tensor ${printType({ dtype: t.dtype, shape: t.shape })} ${printTensorData(t, options)}`;
}

function printTensorData(t: Tensor, options: PrintOptions): string {
  const elide = options.elideTensorBytes;
  if (elide !== undefined && t.data.byteLength > elide) return `<${t.data.byteLength} bytes>`;
  if (t.size > INLINE_ELEMENTS) {
    return `base64"${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64")}"`;
  }
  if (isBigInt(t.dtype)) return `[${Array.from(t.data as BigInt64Array, String).join(",")}]`;
  const vals = t.numbers();
  const fmt = t.dtype === "float64" ? printFloat64 : isFloat(t.dtype) ? printFloat32 : String;
  return `[${Array.from(vals, (v) => fmt(v)).join(",")}]`;
}

function special(v: number): string | undefined {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Object.is(v, -0)) return "-0";
  return undefined;
}

/** The shortest decimal that reads back as the same float32. */
export function printFloat32(v: number): string {
  const s = special(v);
  if (s) return s;
  for (let p = 1; p <= 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === v) return String(c);
  }
  return String(v);
}

function printFloat64(v: number): string {
  return special(v) ?? String(v);
}

// ---------------------------------------------------------------------------------------------
// Parser

export class ParseError extends ModelError {}

export function parseModel(text: string): Model {
  const p = new Parser(text);
  const opsets: Record<string, number> = {};
  p.ws();
  while (p.peekWord("opset")) {
    p.word("opset");
    const domain = p.string();
    opsets[domain] = p.integer();
    p.ws();
  }
  const graph = p.graph();
  p.ws();
  if (!p.atEnd()) p.fail("text after the end of the graph");
  return { graph, opsets };
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }

  fail(msg: string): never {
    const before = this.src.slice(0, this.pos);
    const line = before.split("\n").length;
    const col = this.pos - before.lastIndexOf("\n");
    throw new ParseError(`line ${line}, column ${col}: ${msg}`);
  }

  ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private peek(s: string): boolean {
    this.ws();
    return this.src.startsWith(s, this.pos);
  }

  peekWord(w: string): boolean {
    return this.peek(w) && !/[A-Za-z0-9_]/.test(this.src[this.pos + w.length] ?? "");
  }

  private eat(s: string): boolean {
    if (!this.peek(s)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.fail(`expected '${s}'`);
  }

  word(w: string): void {
    if (!this.peekWord(w)) this.fail(`expected '${w}'`);
    this.pos += w.length;
  }

  private match(re: RegExp, what: string): string {
    this.ws();
    re.lastIndex = this.pos;
    const m = re.exec(this.src);
    if (!m || m.index !== this.pos) this.fail(`expected ${what}`);
    this.pos += m[0].length;
    return m[0];
  }

  string(): string {
    const s = this.match(/"(?:[^"\\]|\\.)*"/y, "a string");
    return JSON.parse(s) as string;
  }

  integer(): number {
    return Number(this.match(/-?\d+/y, "an integer"));
  }

  private ident(): string {
    return this.match(/[A-Za-z_][A-Za-z0-9_.:]*/y, "an identifier");
  }

  /** `%name`, `%"name"`, or `_` for an omitted one. */
  private value(): string {
    if (this.eat("_") ) return "";
    this.expect("%");
    if (this.src[this.pos] === "\"") return this.string();
    return this.match(/[A-Za-z0-9_.\/-]+/y, "a value name");
  }

  private type(): TensorType {
    this.ws();
    const short = this.match(/[a-z]+\d*/y, "a dtype");
    const dtype = dtypeFromShort(short);
    if (!dtype) this.fail(`unknown dtype '${short}'`);
    this.expect("[");
    if (this.eat("?")) {
      this.expect("]");
      return { dtype, shape: null };
    }
    const shape: Dim[] = [];
    if (!this.eat("]")) {
      do shape.push(this.dim()); while (this.eat(","));
      this.expect("]");
    }
    return { dtype, shape };
  }

  /** A number, a symbol, or a parenthesised expression, read up to the next top-level , or ]. */
  private dim(): Dim {
    this.ws();
    const start = this.pos;
    let depth = 0;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (depth === 0 && (c === "," || c === "]")) break;
      if (c === "(") depth++;
      else if (c === ")") depth--;
      this.pos++;
    }
    const s = this.src.slice(start, this.pos);
    if (!/^[A-Za-z0-9_()+\-*/ ]+$/.test(s)) this.fail(`invalid dimension '${s}'`);
    return /^\d+$/.test(s) ? Number(s) : s;
  }

  private valueInfos(): ValueInfo[] {
    this.expect("(");
    const out: ValueInfo[] = [];
    if (this.eat(")")) return out;
    do {
      const name = this.value();
      this.expect(":");
      out.push({ name, type: this.type() });
    } while (this.eat(","));
    this.expect(")");
    return out;
  }

  graph(): Graph {
    this.word("graph");
    const name = this.string();
    const inputs = this.valueInfos();
    this.expect("->");
    const outputs = this.valueInfos();
    this.expect("{");
    const initializers = new Map<string, Tensor>();
    const valueTypes = new Map<string, TensorType>();
    const nodes: Node[] = [];
    while (!this.eat("}")) {
      if (this.atEnd()) this.fail("unterminated graph");
      const outs: { name: string; type?: TensorType }[] = [];
      if (!this.peek("=")) {
        do {
          const v = this.value();
          const type = this.eat(":") ? this.type() : undefined;
          outs.push({ name: v, type });
        } while (this.eat(","));
      }
      this.expect("=");
      if (this.peekWord("init")) {
        this.word("init");
        const o = outs[0];
        if (outs.length !== 1 || !o?.type || o.type.shape === null) this.fail("an initializer needs one typed value");
        initializers.set(o.name, this.tensorData(o.type.dtype, o.type.shape as number[]));
        continue;
      }
      const op = this.ident();
      const nodeName = this.peek("\"") ? this.string() : "";
      this.expect("(");
      const inputsOf: string[] = [];
      if (!this.eat(")")) {
        do inputsOf.push(this.value()); while (this.eat(","));
        this.expect(")");
      }
      const attrs: Record<string, Attr> = {};
      if (this.eat("{")) {
        do {
          const key = this.match(/[A-Za-z_][A-Za-z0-9_]*/y, "an attribute name");
          this.expect("=");
          attrs[key] = this.attr();
        } while (this.eat(","));
        this.expect("}");
      }
      for (const o of outs) if (o.type) valueTypes.set(o.name, o.type);
      nodes.push({ op, name: nodeName, inputs: inputsOf, outputs: outs.map((o) => o.name), attrs });
    }
    return { name, inputs, outputs, initializers, nodes, valueTypes };
  }

  private attr(): Attr {
    this.ws();
    if (this.peekWord("ints")) { this.word("ints"); return { type: "ints", value: this.list(() => this.integer()) }; }
    if (this.peekWord("floats")) { this.word("floats"); return { type: "floats", value: this.list(() => this.float32()) }; }
    if (this.peekWord("strings")) { this.word("strings"); return { type: "strings", value: this.list(() => this.string()) }; }
    if (this.peekWord("tensors")) { this.word("tensors"); return { type: "tensors", value: this.list(() => this.tensor()) }; }
    if (this.peekWord("graphs")) { this.word("graphs"); return { type: "graphs", value: this.list(() => this.graph()) }; }
    if (this.peekWord("tensor")) return { type: "tensor", value: this.tensor() };
    if (this.peekWord("graph")) return { type: "graph", value: this.graph() };
    if (this.peek("\"")) return { type: "string", value: this.string() };
    const num = this.match(/-?(?:inf|nan|\d+(?:\.\d+)?(?:e[+-]?\d+)?)f?/y, "an attribute value");
    if (num.endsWith("f")) return { type: "float", value: Math.fround(parseNumber(num.slice(0, -1))) };
    if (!/^-?\d+$/.test(num)) this.fail(`'${num}' is neither an int nor a float (floats end in f)`);
    return { type: "int", value: Number(num) };
  }

  private float32(): number {
    return Math.fround(parseNumber(this.match(/-?(?:inf|nan|\d+(?:\.\d+)?(?:e[+-]?\d+)?)/y, "a float")));
  }

  private list<T>(item: () => T): T[] {
    this.expect("[");
    const out: T[] = [];
    if (this.eat("]")) return out;
    do out.push(item()); while (this.eat(","));
    this.expect("]");
    return out;
  }

  private tensor(): Tensor {
    this.word("tensor");
    const t = this.type();
    if (t.shape === null || t.shape.some((d) => typeof d !== "number")) this.fail("a tensor needs a static shape");
    return this.tensorData(t.dtype, t.shape as number[]);
  }

  private tensorData(dtype: DType, shape: number[]): Tensor {
    if (this.peekWord("base64")) {
      this.word("base64");
      const bytes = Buffer.from(this.string(), "base64");
      const n = shapeSize(shape);
      if (bytes.length !== n * DTYPE_INFO[dtype].bytes) this.fail(`tensor data has ${bytes.length} bytes, expected ${n * DTYPE_INFO[dtype].bytes}`);
      const data = DTYPE_INFO[dtype].make(n);
      new Uint8Array(data.buffer).set(bytes);
      return new Tensor(dtype, shape, data);
    }
    const items = this.list(() => this.match(/-?(?:inf|nan|\d+(?:\.\d+)?(?:e[+-]?\d+)?)/y, "a number"));
    if (items.length !== shapeSize(shape)) this.fail(`tensor has ${items.length} values, shape [${shape.join(",")}] needs ${shapeSize(shape)}`);
    if (isBigInt(dtype)) return Tensor.fromBigInts(dtype as "int64" | "uint64", shape, items.map((s) => BigInt(s)));
    return Tensor.fromNumbers(dtype, shape, items.map(parseNumber));
  }
}

function parseNumber(s: string): number {
  if (s === "nan" || s === "-nan") return NaN;
  if (s === "inf") return Infinity;
  if (s === "-inf") return -Infinity;
  return Number(s);
}
