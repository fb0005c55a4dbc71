/** `kiln conformance DIR`: runs ONNX backend test folders and classifies every test. */
import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { Backend, ExecutorKind } from "../api.js";
import { KilnError } from "../ir/errors.js";
import { runPool } from "../conformance/pool.js";
import type { Status, TestResult } from "../conformance/testcase.js";
import { printable } from "../ir/escape.js";

export interface ConformanceOptions {
  readonly filter?: string;
  readonly list?: string;
  readonly json?: boolean;
  readonly backend: Backend;
  readonly executor?: ExecutorKind;
  readonly jobs?: number;
  readonly timeout: number;
}

export interface ConformanceSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly unsupported: number;
  readonly error: number;
  readonly tests: { name: string; status: Status; reason?: string; fallbacks?: readonly string[] }[];
  /** Under a compiling backend: for each op that ran on the reference interpreter, in how many tests. */
  readonly fallbackOps: Record<string, number>;
}

/** A command-line mistake: a missing folder or list file. */
export class UsageError extends KilnError {}

/** The test folders under `dir`, narrowed by a list file and a name filter. */
export function selectTests(dir: string, list?: string, filter?: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`);
  let names = readdirSync(dir).filter((n) => existsSync(join(dir, n, "model.onnx"))).sort();
  if (list) {
    if (!existsSync(list)) throw new UsageError(`list file ${list} does not exist`);
    const wanted = new Set(readFileSync(list, "utf8").split(/\r?\n/).map((s) => s.trim()).filter((s) => s && !s.startsWith("#")));
    const missing = [...wanted].filter((n) => !names.includes(n));
    if (missing.length > 0) throw new UsageError(`${missing.length} tests of ${list} are not in ${dir}: ${missing.slice(0, 5).join(", ")}`);
    names = names.filter((n) => wanted.has(n));
  }
  if (filter) {
    const re = new RegExp(filter);
    names = names.filter((n) => re.test(n));
  }
  return names;
}

export async function runConformance(dir: string, opts: ConformanceOptions): Promise<ConformanceSummary> {
  const names = selectTests(dir, opts.list, opts.filter);
  const progress = !opts.json && process.stderr.isTTY;
  let done = 0;
  const results = await runPool(names.map((name) => ({ dir: join(dir, name), name, backend: opts.backend, executor: opts.executor })), {
    workers: opts.jobs ?? Math.max(1, cpus().length),
    timeoutMs: opts.timeout * 1000,
    onResult: () => {
      done++;
      if (progress) process.stderr.write(`\r${done}/${names.length}`);
    },
  });
  if (progress) process.stderr.write("\r\x1b[K");
  return summarize(results);
}

function summarize(results: readonly TestResult[]): ConformanceSummary {
  const count = (s: Status) => results.filter((r) => r.status === s).length;
  return {
    total: results.length,
    passed: count("passed"),
    failed: count("failed"),
    unsupported: count("unsupported"),
    error: count("error"),
    tests: results.map((r) => ({ name: r.name, status: r.status, ...(r.reason === undefined ? {} : { reason: r.reason }), ...(r.fallbacks ? { fallbacks: r.fallbacks } : {}) })),
    fallbackOps: countFallbackOps(results),
  };
}

function countFallbackOps(results: readonly TestResult[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const r of results) for (const op of new Set((r.fallbacks ?? []).map((f) => f.slice(0, f.indexOf(": "))))) counts.set(op, (counts.get(op) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
}

export function formatSummary(s: ConformanceSummary): string {
  const lines: string[] = [];
  for (const t of s.tests) if (t.status !== "passed") lines.push(`${t.status.padEnd(11)} ${printable(t.name)}: ${printable(t.reason ?? "")}`);
  const features = new Map<string, number>();
  for (const t of s.tests) if (t.status === "unsupported") features.set(t.reason ?? "?", (features.get(t.reason ?? "?") ?? 0) + 1);
  if (features.size > 0) {
    lines.push("", "unsupported, by feature:");
    for (const [f, n] of [...features].sort((a, b) => b[1] - a[1])) lines.push(`  ${String(n).padStart(4)}  ${f}`);
  }
  const fallbacks = Object.entries(s.fallbackOps);
  if (fallbacks.length > 0) {
    lines.push("", "ran on the reference interpreter, by op (tests):");
    for (const [op, n] of fallbacks) lines.push(`  ${String(n).padStart(4)}  ${op}`);
  }
  lines.push("", `total ${s.total}: ${s.passed} passed, ${s.failed} failed, ${s.unsupported} unsupported, ${s.error} error`);
  return lines.join("\n");
}
