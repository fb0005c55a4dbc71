/**
 * Prints a module builder's recorded instructions as WAT-like text, one instruction per line,
 * indented by block nesting, with labels and locals by name (`kiln inspect --code`).
 */
import type { FunctionBuilder, Imm, Local } from "./function.js";
import type { ModuleBuilder } from "./module.js";
import { opInfo, type OpName } from "./opcodes.js";

export function printModule(m: ModuleBuilder): string {
  const lines = ["(module"];
  const mem = m.memory;
  if (mem) {
    const limits = [mem.min, mem.max, mem.shared ? "shared" : undefined].filter((x) => x !== undefined).join(" ");
    lines.push(`  (import "${mem.module}" "${mem.name}" (memory ${limits}))`);
  }
  for (const { module, name, ref } of m.functionImports) {
    const params = ref.paramTypes.map((t) => ` (param ${t})`).join(""), results = ref.results.length ? ` (result ${ref.results.join(" ")})` : "";
    lines.push(`  (import "${module}" "${name}" (func $${ref.name}${params}${results}))`);
  }
  for (const f of m.functions) {
    const exported = m.exports.filter((e) => e.func === f).map((e) => ` (export "${e.name}")`).join("");
    lines.push(indent(printFunction(f, exported), "  "));
  }
  return `${lines.join("\n")})`;
}

export function printFunction(f: FunctionBuilder, exported = ""): string {
  const params = f.params.map((p) => ` (param ${localName(p)} ${p.type})`).join("");
  const results = f.results.length ? ` (result ${f.results.join(" ")})` : "";
  const lines = [`(func $${f.name}${exported}${params}${results}`];
  for (const l of f.allLocals.slice(f.params.length)) lines.push(`  (local ${localName(l)} ${l.type})`);
  let depth = 1;
  for (const { op, imm } of f.instructions) {
    if (op === "end" || op === "else") depth--;
    const text = imm ? printImm(op, imm) : "";
    lines.push(`${"  ".repeat(depth)}${op}${text ? ` ${text}` : ""}`);
    if (op === "block" || op === "loop" || op === "if" || op === "else") depth++;
  }
  return `${lines.join("\n")})`;
}

function printImm(op: OpName, imm: Imm): string {
  switch (imm.kind) {
    case "memarg": {
      const natural = opInfo(op).align;
      return [imm.offset ? `offset=${imm.offset}` : "", imm.align !== natural ? `align=${imm.align}` : ""].filter(Boolean).join(" ");
    }
    case "lane": return String(imm.lane);
    case "shuffle": return imm.lanes.join(" ");
    case "i32": case "i64": return String(imm.value);
    case "f32": case "f64": return Number.isNaN(imm.value) ? "nan" : Number.isFinite(imm.value) ? String(imm.value) : imm.value > 0 ? "inf" : "-inf";
    case "v128": return `i8x16 ${imm.bytes.join(" ")}`;
    case "local": return localName(imm.local);
    case "label": return `$L${imm.label.id}`;
    case "block": return `$L${imm.label.id}${imm.results.length ? ` (result ${imm.results.join(" ")})` : ""}`;
    case "func": return `$${imm.func.name}`;
  }
}

/** Names are compiler-generated, but kept to identifier characters so the text stays parseable. */
function localName(l: Local): string {
  return `$${l.name?.replace(/[^\w.]/g, "_") ?? l.index}`;
}

function indent(text: string, by: string): string {
  return text.split("\n").map((l) => by + l).join("\n");
}
