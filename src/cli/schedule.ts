/**
 * `kiln inspect MODEL --schedule`: the Rammer rProgram of a model, as a summary and a Gantt
 * chart, profiled and measured: the session is traced (every rTask timed), and the last of a few
 * inferences after warm-up is the measured half.
 */
import { availableParallelism } from "node:os";
import { writeFile } from "node:fs/promises";
import { InferenceSession } from "../api.js";
import type { CompiledModel } from "../compile.js";
import { InputError } from "../ir/errors.js";
import { ganttSvg, summarize } from "../rammer/gantt.js";
import { type FeedOptions, buildFeeds } from "./feeds.js";
import { resolveModel } from "./run.js";

export interface ScheduleOptions extends FeedOptions {
  readonly json: boolean;
  readonly threads?: number;
  readonly html?: string;
  readonly svg?: string;
}

export async function scheduleCommand(model: string, opts: ScheduleOptions): Promise<void> {
  const { source, label } = resolveModel(model);
  const veus = opts.threads ?? availableParallelism();
  const session = await InferenceSession.create(source, { threads: veus, executor: "rammer", traceSchedule: true });
  try {
    const feeds = await buildFeeds(session.inputMetadata, opts);
    const c = await session.compiledFor(feeds);
    if (c.kind !== "compiled" || !c.rammer) throw new InputError(`${label} does not compile (${c.kind === "reference" ? c.reason : "no schedule"})`);
    // Measured: the median of a few inferences after warm-up, and what they synchronised.
    const feedObj = Object.fromEntries(feeds);
    for (let i = 0; i < 3; i++) await session.run(feedObj);
    const before = c.executor.stats;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await session.run(feedObj);
      times.push(performance.now() - t);
    }
    const after = c.executor.stats;
    const measured = { medianMs: times.sort((a, b) => a - b)[2]!, blockedWaitsPerInference: (after.blockedWaits - before.blockedWaits) / 5 };
    const trace = c.executor.lastTrace;
    const summary = summarize(c.rammer.launches, veus, trace);
    if (opts.svg || opts.html) {
      const svg = ganttSvg(c.rammer.launches, veus, label, trace);
      if (opts.svg) await writeFile(opts.svg, svg);
      if (opts.html) await writeFile(opts.html, `<!doctype html><meta charset="utf-8"><title>kiln schedule</title><body>${svg}</body>`);
    }
    const labels = kernelLabels(c.compiled);
    const overProfile = (summary.overProfile ?? []).map((k) => ({ ...k, ops: labels[k.kernel] ?? "?" }));
    if (opts.json) {
      console.log(JSON.stringify({ model: label, veus, ...summary, overProfile, measured: { ...summary.measured, ...measured } }));
      return;
    }
    const percents = (b: readonly number[]) => b.map((x) => `${(100 * x).toFixed(0)}%`).join(", ");
    const p = summary.profiled, m = summary.measured!;
    console.log(`${label} on ${veus} vEUs: ${summary.launches} launch(es), ${summary.tasks} rTasks, ${summary.waits} waits, ${summary.wakeUps} wake-ups per inference`);
    console.log(`profiled ${p.makespanMs.toFixed(2)} ms per inference, ${p.blockedWaits} waits blocking; vEU busy ${percents(p.busyFraction)}`);
    console.log(`measured ${m.makespanMs.toFixed(2)} ms in the launches of the last traced inference, ${m.blockedWaits} waits blocked; vEU busy ${percents(m.busyFraction)}`);
    console.log(`         ${measured.medianMs.toFixed(2)} ms per traced inference (median of 5), ${measured.blockedWaitsPerInference.toFixed(0)} waits blocked per inference`);
    console.log("kernels furthest over their profiled time (all their tasks, one inference):");
    for (const k of overProfile) console.log(`  kernel ${k.kernel} (${k.ops}): profiled ${k.profiledMs.toFixed(3)} ms, measured ${k.measuredMs.toFixed(3)} ms`);
    if (opts.svg || opts.html) console.log(`chart written to ${[opts.svg, opts.html].filter(Boolean).join(" and ")}`);
  } finally {
    await session.release();
  }
}

/** What each kernel computes, by kernel index: its node's op, or the ops fused into it. */
function kernelLabels(compiled: CompiledModel): string[] {
  return compiled.nodes.flatMap((r) => {
    if (r.kind !== "kernels") return [];
    const body = r.node.attrs["body"];
    const ops = body?.type === "graph" ? body.value.nodes.map((n) => n.op).join("+") : r.node.op;
    return r.kernels.map(() => ops);
  });
}
