/**
 * The results as tables: kiln's median latency against each peer's (ratio = peer / kiln, above 1
 * means kiln is faster) with kiln's numerics, then every runtime's load, first-run, median, p90
 * and peak-RSS figures. Errors become numbered footnotes. Rendered as text (the console) or
 * Markdown (bench/results/latest.md).
 */
import { REL_TOLERANCE } from "./numerics.js";
import { PEERS, type Results, type RuntimeResult, measured, ratio } from "./results.js";
import { RUNTIMES } from "./runtimes.js";

type Table = { readonly head: readonly string[]; readonly rows: readonly (readonly string[])[] };

export const ms = (x: number) => x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0);
const times = (x: number | null) => (x === null ? "—" : `${x.toFixed(2)}x`);
const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : String(x));

/** Error messages, numbered once each. */
class Footnotes {
  readonly notes: string[] = [];
  ref(message: string): string {
    let i = this.notes.indexOf(message);
    if (i < 0) i = this.notes.push(message) - 1;
    return `error [${i + 1}]`;
  }
}

function numerics(x: RuntimeResult): string {
  if (!measured(x)) return "—";
  const n = x.numerics;
  if (n === undefined) return "no reference";
  return `${n.ok ? "ok" : "FAIL"} ${n.detail ?? `${sci(n.maxAbs)} / ${sci(n.maxRel)}`}`;
}

const notes = (x: Record<string, unknown> | undefined) =>
  Object.entries(x ?? {}).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(", ") || "none" : String(v)}`).join("; ");

function ratioTable(r: Results, f: Footnotes): Table {
  const head = ["model", "kiln ms", ...PEERS.flatMap((p) => [`${p} ms`, `vs ${p}`]), "kiln numerics (max abs / max rel)"];
  const rows = r.models.map((m) => {
    const cell = (name: (typeof RUNTIMES)[number]) => {
      const x = m.runtimes[name];
      return measured(x) ? ms(x.medianMs) : f.ref(x.error);
    };
    return [m.name, cell("kiln"), ...PEERS.flatMap((p) => [cell(p), times(ratio(m, p))]), numerics(m.runtimes.kiln)];
  });
  return { head, rows };
}

function detailTable(r: Results, f: Footnotes): Table {
  const head = ["model", "runtime", "load ms", "first run ms", "median ms", "p90 ms", "peak RSS MB", "warm-up runs", "vs ort-node (max abs / max rel)", "notes"];
  const rows = r.models.flatMap((m) => RUNTIMES.map((name) => {
    const x = m.runtimes[name];
    if (!measured(x)) return [m.name, name, f.ref(x.error), "", "", "", "", "", "", ""];
    return [m.name, name, ms(x.loadMs), ms(x.firstRunMs), ms(x.medianMs), ms(x.p90Ms), x.peakRssMb.toFixed(0), String(x.warmupRuns),
      name === "ort-node" ? "reference" : numerics(x), notes(x.notes)];
  }));
  return { head, rows };
}

function geomeanLines(r: Results): string[] {
  const failing = r.models.filter((m) => { const k = m.runtimes.kiln; return measured(k) && k.numerics?.ok === false; }).length;
  return [
    ...PEERS.map((p) => `geometric mean of kiln's ratio vs ${p}: ${times(r.geomean[p].ratio)} over ${r.geomean[p].models} models where both ran`),
    ...(failing ? [`(including ${failing} models where kiln's outputs fail the ${REL_TOLERANCE} numerics check)`] : []),
  ];
}

function text(t: Table): string {
  const width = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join("  ").trimEnd();
  return [line(t.head), ...t.rows.map(line)].join("\n");
}

function markdown(t: Table): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(t.head), line(t.head.map((_, i) => (i === 0 ? "---" : "---:"))), ...t.rows.map(line)].join("\n");
}

const settingsLine = (r: Results) =>
  `median and p90 of ${r.settings.runs} runs after warm-up, ${r.settings.threads} threads (tfjs: 1, its threaded wasm build does not run in Node); ratio = peer median / kiln median, above 1 means kiln is faster`;

const machineLine = (r: Results) =>
  `${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB, ${r.machine.os}; ${Object.entries(r.machine.versions).map(([k, v]) => `${k} ${v}`).join(", ")}; ${r.machine.date}`;

/** For the console: the ratio table, the geometric means and the errors (shortened). */
export function textReport(r: Results): string {
  const f = new Footnotes();
  const table = text(ratioTable(r, f));
  const short = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);
  return [machineLine(r), settingsLine(r), "", table, "", ...geomeanLines(r), "", ...f.notes.map((n, i) => `[${i + 1}] ${short(n)}`)].join("\n");
}

export function markdownReport(r: Results): string {
  const f = new Footnotes();
  const ratios = markdown(ratioTable(r, f));
  const details = markdown(detailTable(r, f));
  return [
    "# Model benchmark", "",
    `Machine: ${machineLine(r)}`, "",
    `${settingsLine(r)}. Numerics: kiln's outputs against onnxruntime-node's on the same seeded inputs, relative to max(|expected|, 1% of the largest |expected|); ok within ${REL_TOLERANCE} for float outputs, exact for integer ones.`, "",
    ratios, "",
    ...geomeanLines(r).map((l) => `- ${l}`), "",
    "![kiln's ratio against each peer](latest.svg)", "",
    "## Every runtime", "",
    details, "",
    ...(f.notes.length ? ["## Errors", "", ...f.notes.map((n, i) => `${i + 1}. ${n.replaceAll("\n", " ")}`), ""] : []),
  ].join("\n");
}
