/** The fuzzer's tables: outcome counts (kiln beside onnxruntime-node), failures by stage, kind and signature. */
import type { CaseRecord, FuzzSummary } from "./fuzz.js";
import { FAILING } from "./fuzz.js";

const counts = (keys: readonly string[]) => {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
};

const failing = (s: FuzzSummary) => s.records.filter((r) => FAILING.includes(r.kiln));

/** What groups failures: class, error name, message with numbers and quoted names blanked, top src/ frame. */
export function signature(r: CaseRecord): string {
  const msg = (r.error?.message ?? "").replace(/"[^"]*"/g, '"…"').replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/g, "N").slice(0, 120);
  return `${r.kiln} ${r.error?.name ?? ""}: ${msg} @ ${r.error?.frames[0] ?? "-"}`;
}

export function formatSummary(s: FuzzSummary): string {
  const lines: string[] = [];
  const rate = s.cases / Math.max(s.seconds, 1e-9);
  lines.push(`fuzz: seed ${s.seed}, backend ${s.backend}: ${s.cases} cases in ${s.seconds.toFixed(0)} s (${rate.toFixed(1)}/s)`);
  const kiln = new Map(counts(s.records.map((r) => r.kiln)));
  const withOrt = s.records.some((r) => r.ort !== undefined);
  const ort = new Map(counts(s.records.flatMap((r) => (r.ort ? [r.ort] : []))));
  lines.push("", `${"class".padEnd(10)}${"kiln".padStart(8)}${withOrt ? "onnxruntime-node".padStart(18) : ""}`);
  for (const c of ["ok", "typed", "error", "untyped", "mismatch", "hang", "crash"]) {
    const k = c === "error" ? "" : String(kiln.get(c) ?? 0);
    const o = c === "typed" || c === "untyped" || c === "mismatch" ? "" : String(ort.get(c) ?? 0);
    if (c === "error" && !withOrt) continue;
    lines.push(`${c.padEnd(10)}${k.padStart(8)}${withOrt ? o.padStart(18) : ""}`);
  }
  const bad = failing(s);
  if (bad.length === 0) return lines.join("\n");
  lines.push("", "failures by stage: " + counts(bad.map((r) => r.stage ?? r.kiln)).map(([k, n]) => `${k} ${n}`).join(", "));
  lines.push("failures by mutation: " + counts(bad.map((r) => r.kind)).map(([k, n]) => `${k} ${n}`).join(", "));
  lines.push("", "failure signatures (count, one case):");
  const first = new Map<string, CaseRecord>();
  for (const r of bad) if (!first.has(signature(r))) first.set(signature(r), r);
  for (const [sig, n] of counts(bad.map(signature))) {
    const r = first.get(sig)!;
    lines.push(`${String(n).padStart(5)}  ${sig}`, `       e.g. ${r.saved ?? `case ${r.index}`}: ${r.description}`);
  }
  return lines.join("\n");
}
