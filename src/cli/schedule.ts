/** `kiln inspect MODEL --schedule`: the Rammer rProgram of a model, as a summary and a Gantt chart. */
import { availableParallelism } from "node:os";
import { writeFile } from "node:fs/promises";
import { InferenceSession } from "../api.js";
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
  const session = await InferenceSession.create(source, { threads: veus, executor: "rammer" });
  try {
    const feeds = await buildFeeds(session.inputMetadata, opts);
    const c = await session.compiledFor(feeds);
    if (c.kind !== "compiled" || !c.rammer) throw new InputError(`${label} does not compile (${c.kind === "reference" ? c.reason : "no schedule"})`);
    const { summary } = summarize(c.rammer.launches, veus);
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
    const svg = ganttSvg(c.rammer.launches, veus, label);
    if (opts.svg) await writeFile(opts.svg, svg);
    if (opts.html) await writeFile(opts.html, `<!doctype html><meta charset="utf-8"><title>kiln schedule</title><body>${svg}</body>`);
    if (opts.json) {
      console.log(JSON.stringify({ model: label, veus, ...summary, measured }));
      return;
    }
    console.log(`${label} on ${veus} vEUs: ${summary.launches} launch(es), ${summary.tasks} rTasks, ${summary.waits} waits (${summary.blockedWaits} block by the profile), ${summary.wakeUps} wake-ups per inference`);
    console.log(`profiled ${summary.makespanMs.toFixed(2)} ms per inference; vEU busy ${summary.busyFraction.map((b) => `${(100 * b).toFixed(0)}%`).join(", ")}`);
    console.log(`measured ${measured.medianMs.toFixed(2)} ms per inference (median of 5), ${measured.blockedWaitsPerInference.toFixed(0)} waits blocked per inference`);
    if (opts.svg || opts.html) console.log(`chart written to ${[opts.svg, opts.html].filter(Boolean).join(" and ")}`);
  } finally {
    await session.release();
  }
}
