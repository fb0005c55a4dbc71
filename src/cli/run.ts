/** `kiln run [model]`: compile and run a model, print each output's shape, dtype, a few values and the time. */
import { existsSync } from "node:fs";
import { InferenceSession, type Backend, type ExecutorKind } from "../api.js";
import type { Model } from "../ir/graph.js";
import type { Tensor } from "../ir/tensor.js";
import { printable } from "../ir/escape.js";
import { ZOO, isZooName } from "../zoo/index.js";
import { type FeedOptions, buildFeeds } from "./feeds.js";

export interface RunOptions extends FeedOptions {
  readonly json: boolean;
  readonly backend: Backend;
  readonly threads?: number;
  readonly executor?: ExecutorKind;
}

const DEFAULT_MODEL = "nasnet-a";

/** The model to run and its label: a file, a zoo model by name (a file of that name wins), or the default. */
export function resolveModel(model: string | undefined): { source: string | Model; label: string } {
  // The default: a zoo model whose parallel branches show what the executors do (compiles in seconds).
  if (model === undefined) return { source: ZOO[DEFAULT_MODEL].build(), label: `${DEFAULT_MODEL} (zoo, the default)` };
  if (isZooName(model) && !existsSync(model)) return { source: ZOO[model].build(), label: `${model} (zoo)` };
  return { source: model, label: model };
}

export async function runCommand(modelPath: string | undefined, opts: RunOptions): Promise<void> {
  const t0 = performance.now();
  const { source, label } = resolveModel(modelPath);
  const session = await InferenceSession.create(source, { backend: opts.backend, threads: opts.threads, executor: opts.executor });
  const loadMs = performance.now() - t0;
  const feeds = Object.fromEntries(await buildFeeds(session.inputMetadata, { inputs: opts.inputs, shapes: opts.shapes }));
  // The compiling backends compile on the first run, so a second run gives the run time alone.
  const timedRun = async () => {
    const t = performance.now();
    const out = await session.run(feeds);
    return { out, ms: performance.now() - t };
  };
  let outputs: Record<string, Tensor>, firstRunMs: number, runMs: number;
  try {
    const first = await timedRun();
    const again = opts.backend === "reference" ? first : await timedRun();
    [outputs, firstRunMs, runMs] = [again.out, first.ms, again.ms];
  } finally {
    await session.release();
  }
  const where = opts.backend === "reference" ? "reference" : `${opts.backend}, ${session.executor}, ${session.threads} thread${session.threads === 1 ? "" : "s"}`;
  const summary = Object.entries(outputs).map(([name, t]) => ({
    name, dtype: t.dtype, shape: [...t.shape],
    values: Array.from(t.numbers().slice(0, 8)),
  }));
  if (opts.json) {
    console.log(JSON.stringify({ model: label, backend: opts.backend, executor: opts.backend === "reference" ? undefined : session.executor, threads: session.threads, loadMs, firstRunMs, runMs, outputs: summary }));
    return;
  }
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const timing = opts.backend === "reference" ? `ran in ${ms(runMs)}` : `first run (compiling) ${ms(firstRunMs)}, then ran in ${ms(runMs)}`;
  console.log(`model ${label} on ${where}: loaded in ${ms(loadMs)}, ${timing}`);
  for (const o of summary) {
    console.log(`  ${printable(o.name)}: ${o.dtype}[${o.shape.join(",")}] ${o.values.map((v) => +v.toPrecision(6)).join(", ")}${outputs[o.name]!.size > 8 ? ", ..." : ""}`);
  }
}
