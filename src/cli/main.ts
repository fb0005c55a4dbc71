#!/usr/bin/env node
/** The `kiln` command line. */
import { Command, InvalidArgumentError, Option } from "commander";
import { BACKENDS, EXECUTORS } from "../api.js";
import { tuneNodeEngine } from "../codegen/wasm/features.js";
import { KilnError } from "../ir/errors.js";
import { printable } from "../ir/escape.js";
import { formatSummary, runConformance } from "./conformance.js";
import { inspectCommand } from "./inspect.js";
import { runCommand } from "./run.js";
import { scheduleCommand } from "./schedule.js";
import { exportZoo, listZoo } from "./zoo.js";

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

const executorOption = () => new Option("--executor <name>", "how kernels run: split across all threads with a barrier after each, or Rammer launches (default: rammer on wasm with more than one thread, else op-by-op)").choices(EXECUTORS);
const backendOption = () => new Option("--backend <name>", "executor").choices(BACKENDS).default("wasm");

const repeatable = (v: string, acc: string[]) => [...acc, v];
const inputOption = () => new Option("--input <name=file.npy|random|number>", "an input's value, a number filling it (repeatable); inputs not given get seeded random data")
  .argParser(repeatable).default([] as string[]);
const inputShapeOption = () => new Option("--input-shape <name=DxDx...>", "an input's shape, binding its symbolic dims (repeatable; e.g. x=1x3x640x640); unbound symbolic dims take 1")
  .argParser(repeatable).default([] as string[]);

// The CLI owns its process, so it takes the engine settings kiln is tuned for.
await tuneNodeEngine();

const program = new Command("kiln")
  .description("A deep-learning compiler: ONNX models to WebAssembly SIMD and WGSL")
  .showHelpAfterError();

program.command("run")
  .description("compile and run a model (a built-in default model when none is given)")
  .argument("[model]", "an ONNX file or a zoo model's name (kiln zoo lists them)")
  .addOption(inputOption())
  .addOption(inputShapeOption())
  .option("--json", "print the outputs as JSON")
  .addOption(backendOption())
  .addOption(executorOption())
  .option("--threads <n>", "threads for the kernels, counting this one (default: the core count)", positiveInt)
  .action(async (model: string | undefined, opts) => {
    await runCommand(model, { inputs: opts.input, shapes: opts.inputShape, json: !!opts.json, backend: opts.backend, threads: opts.threads, executor: opts.executor });
  });

const zoo = program.command("zoo")
  .description("list the built-in models (the Rammer paper's evaluation models); run one with kiln run NAME")
  .action(() => console.log(listZoo()));

zoo.command("export")
  .description("write a zoo model as ONNX, so other runtimes can run the identical model")
  .argument("<name>", "a zoo model")
  .argument("<file>", "the ONNX file to write")
  .action(async (name: string, file: string) => {
    await exportZoo(name, file);
  });

program.command("conformance")
  .description("run ONNX backend test folders (model.onnx + test_data_set_*) and classify each test")
  .argument("<dir>", "folder of test folders")
  .option("--filter <regex>", "only tests whose name matches")
  .option("--list <file>", "only the tests named in this file, one per line")
  .option("--json", "print one JSON object")
  .option("--jobs <n>", "worker threads", positiveInt)
  .option("--timeout <seconds>", "time limit per test", positiveInt, 120)
  .addOption(backendOption())
  .addOption(executorOption())
  .action(async (dir: string, opts) => {
    const summary = await runConformance(dir, {
      filter: opts.filter, list: opts.list, json: !!opts.json, backend: opts.backend, executor: opts.executor, jobs: opts.jobs, timeout: opts.timeout,
    });
    console.log(opts.json ? JSON.stringify(summary) : formatSummary(summary));
  });

program.command("inspect")
  .description("optimize a model and show the IR after each pass, the fused functions and the memory plan")
  .argument("<model>", "an ONNX file or a zoo model's name")
  .option("--after <pass>", "print the IR after this pass instead of the final one")
  .option("--full", "print whole tensors in the IR")
  .option("--json", "print one JSON object")
  .option("--code", "print every kernel's loop IR and the generated code (WAT for wasm)")
  .option("--schedule", "show the Rammer rProgram instead: a summary and, with --svg/--html, a Gantt chart")
  .option("--svg <file>", "with --schedule: write the Gantt chart as SVG")
  .option("--html <file>", "with --schedule: write the Gantt chart as an HTML page")
  .option("--threads <n>", "with --schedule: vEUs (default: the core count)", positiveInt)
  .addOption(new Option("--backend <name>", "code generator").choices(["wasm", "js"]).default("wasm"))
  .addOption(inputOption())
  .addOption(inputShapeOption())
  .action(async (model: string, opts) => {
    const feeds = { inputs: opts.input, shapes: opts.inputShape };
    if (opts.schedule) return scheduleCommand(model, { ...feeds, json: !!opts.json, threads: opts.threads, svg: opts.svg, html: opts.html });
    await inspectCommand(model, { ...feeds, after: opts.after, json: !!opts.json, full: !!opts.full, backend: opts.backend, code: !!opts.code });
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof KilnError) console.error(`kiln: ${e.name}: ${printable(e.message)}`);
  else console.error(`kiln: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
