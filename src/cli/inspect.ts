/** `kiln inspect MODEL`: the IR after each pass, node counts, fused groups and the memory plan. */
import { InferenceSession } from "../api.js";
import type { CodegenBackend } from "../compile.js";
import { printFunc } from "../loopir/print.js";
import { UsageError } from "./conformance.js";
import { type FeedOptions, buildFeeds } from "./feeds.js";
import type { Graph, Model } from "../ir/graph.js";
import { printModel } from "../ir/text.js";
import { displayOp } from "../ops/layout.js";
import { naiveBytes, planMemory } from "../passes/memory-plan.js";
import { DEFAULT_PIPELINE, optimize } from "../passes/pipeline.js";
import "../ops/index.js";
import { resolveModel } from "./run.js";
import { printable } from "../ir/escape.js";

/** Inputs as `kiln run` takes them: the IR, the memory plan and the lowering are for these shapes and scalar values. */
export interface InspectOptions extends FeedOptions {
  readonly after?: string;
  /** Compile for this backend and report what became of each node (kernels or the reference interpreter). */
  readonly backend: CodegenBackend;
  /** Print the loop IR of every kernel and the generated code. */
  readonly code: boolean;
  readonly json: boolean;
  /** Print whole tensors instead of their sizes. */
  readonly full: boolean;
}

function countOps(g: Graph): Record<string, number> {
  const counts: Record<string, number> = {};
  const visit = (graph: Graph) => {
    for (const n of graph.nodes) {
      const body = n.op === "kiln:Fused" ? n.attrs["body"] : undefined;
      if (body?.type === "graph") visit(body.value);
      else counts[n.op] = (counts[n.op] ?? 0) + 1;
    }
  };
  visit(g);
  return counts;
}

export async function inspectCommand(path: string, opts: InspectOptions): Promise<void> {
  const session = await InferenceSession.create(resolveModel(path).source, { backend: opts.backend, threads: 1 });
  // Bound as the session binds them to compile: dims, and scalar integer inputs (If conditions).
  const feeds = await buildFeeds(session.inputMetadata, opts);
  const model = session.bound(feeds);
  const passNames = DEFAULT_PIPELINE.map((p) => p.name);
  if (opts.after && !passNames.includes(opts.after)) {
    throw new UsageError(`no pass named ${opts.after}; passes: ${[...new Set(passNames)].join(", ")}`);
  }
  let dumped: Model | undefined;
  let unfused: Model = model;
  const t0 = performance.now();
  const { model: fused, stats } = optimize(model, {
    dump: (name, m) => {
      if (name === opts.after) dumped ??= m;
      if (name !== "fuse") unfused = m;
    },
  });
  const passMs = performance.now() - t0;
  const plan = planMemory(fused.graph);
  const groups = fused.graph.nodes.map((n) => {
    const body = n.op === "kiln:Fused" ? n.attrs["body"] : undefined;
    return { name: n.name || n.op, ops: body?.type === "graph" ? body.value.nodes.map(displayOp) : [displayOp(n)] };
  });
  // naiveBytes: every intermediate of the optimized graph before fusion in a buffer of its own,
  // what an op-by-op runtime without planning allocates; naiveFusedBytes: the same for the fused graph.
  const memory = {
    arenaBytes: plan.arenaBytes, lowerBoundBytes: plan.lowerBoundBytes,
    naiveBytes: naiveBytes(unfused.graph), naiveFusedBytes: plan.naiveBytes,
  };
  const printed = printModel(dumped ?? fused, opts.full ? {} : { elideTensorBytes: 64 });
  const compiled = await session.compiledFor(feeds);
  await session.release();
  const lowering = compiled.kind === "reference"
    ? { kernels: 0, reference: [{ op: "model", reason: compiled.reason }], phaseMs: {} }
    : {
      phaseMs: compiled.compiled.phaseMs,
      kernels: compiled.compiled.nodes.reduce((n, r) => n + (r.kind === "kernels" ? r.kernels.length : 0), 0),
      reference: compiled.compiled.nodes.flatMap((r) => (r.kind === "reference" ? [{ op: r.op, node: r.node.name, reason: r.reason }] : [])),
    };
  if (opts.json) {
    console.log(JSON.stringify({
      model: path,
      nodes: { before: model.graph.nodes.length, after: fused.graph.nodes.length },
      opCounts: countOps(fused.graph),
      fusedFunctions: fused.graph.nodes.length,
      memory,
      passMs,
      passes: stats.map((s) => ({ name: s.pass, nodesBefore: s.nodesBefore, nodesAfter: s.nodesAfter, ms: s.ms })),
      groups,
      lowering,
      ...(opts.after ? { ir: printed } : {}),
    }));
    return;
  }
  console.log(printed);
  console.log("passes:");
  for (const s of stats) console.log(`  ${s.pass.padEnd(16)} ${String(s.nodesBefore).padStart(6)} -> ${String(s.nodesAfter).padEnd(6)} ${s.ms.toFixed(1)} ms`);
  console.log(`\nfused functions: ${groups.length}`);
  for (const g of groups) console.log(`  ${printable(g.name)}: ${g.ops.join(" + ")}`);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const phases = Object.entries(lowering.phaseMs).map(([p, ms]) => `${p} ${ms.toFixed(0)} ms`).join(", ");
  console.log(`\n${opts.backend}: ${lowering.kernels} kernels; ${lowering.reference.length} nodes on the reference interpreter; compiled in ${phases}`);
  for (const r of lowering.reference) console.log(`  ${r.op}: ${printable(r.reason)}`);
  if (opts.code && compiled.kind === "compiled") {
    for (const r of compiled.compiled.nodes) if (r.kind === "kernels") for (const k of r.kernels) console.log(`\n${printFunc(k.func)}`);
    console.log(`\n${compiled.compiled.code()}`);
  }
  console.log(`\nmemory: arena ${mb(memory.arenaBytes)}, lower bound ${mb(memory.lowerBoundBytes)}, naive ${mb(memory.naiveBytes)} (fused graph: ${mb(memory.naiveFusedBytes)})`);
}
