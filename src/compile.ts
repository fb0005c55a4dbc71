/**
 * The compiler, top to bottom: a model with static shapes goes through the graph optimizer, each
 * node of the fused graph is lowered to loop IR kernels (or kept for the reference interpreter,
 * with the reason), the static memory plan and the weights give every buffer its place in one
 * memory, and the code generator turns the kernels into one module. The result is a Program the
 * runtime executes, plus what `kiln inspect` shows of it.
 */
import { compileKernelsJs } from "./codegen/js/index.js";
import { type Launch, buildKernels, compileKernels } from "./codegen/wasm/compile-kernels.js";
import { printModule } from "./codegen/wasm/wat.js";
import { detectFeatures } from "./codegen/wasm/features.js";
import { layoutScratch } from "./codegen/wasm/scratch-layout.js";
import type { KernelModule } from "./codegen/kernel-module.js";
import { DTYPE_INFO } from "./ir/dtype.js";
import { UnsupportedError } from "./ir/errors.js";
import type { Graph, Model, Node } from "./ir/graph.js";
import { shapeSize, type Tensor } from "./ir/tensor.js";
import { isStaticShape, type TensorType } from "./ir/types.js";
import { type LoweredKernel, lowerNode } from "./lower/lower-node.js";
import { evaluateNode, opsetFor } from "./ops/interpreter.js";
import { nodeReads } from "./passes/graph-utils.js";
import { constantValues, planMemory, type MemoryPlan } from "./passes/memory-plan.js";
import { optimize } from "./passes/pipeline.js";
import type { PassStats } from "./passes/pass.js";
import { CONTROL_BYTES } from "./runtime/control.js";
import type { Program, ProgramStep, ValueRef } from "./runtime/program.js";
import { profileKernels } from "./runtime/profile.js";
import { type LaunchPlan, dynamicOps, planLaunch } from "./rammer/launch.js";
import { CLUSTER_MIN_WEIGHT_BYTES, clustered } from "./rammer/clustered.js";
import { type Policy, granularities } from "./rammer/policies.js";

export type CodegenBackend = "wasm" | "js";

/** The UnsupportedError feature of a model whose values cannot all be placed before it runs. */
export const DATA_DEPENDENT_SHAPES = "data-dependent shapes";

/** What became of one node of the fused graph. */
export type NodeReport =
  | { readonly node: Node; readonly kind: "kernels"; readonly kernels: readonly LoweredKernel[] }
  | { readonly node: Node; readonly kind: "reference"; readonly reason: string; /** The op that could not be lowered. */ readonly op: string }
  | { readonly node: Node; readonly kind: "constant" };

export interface CompiledModel {
  readonly program: Program;
  /** The optimized (fused) model. */
  readonly model: Model;
  readonly passes: readonly PassStats[];
  readonly nodes: readonly NodeReport[];
  readonly memory: MemoryPlan;
  readonly backend: CodegenBackend;
  /** The generated code as text: WAT for wasm, the JavaScript source for js. */
  code(): string;
  /** Milliseconds each phase of the compiler took. */
  readonly phaseMs: Readonly<Record<string, number>>;
  /** The kernels again, with Rammer launches appended and the scratch moved to `scratchOffset`. */
  withLaunches(launches: readonly Launch[], scratchOffset: number): KernelModule;
}

function fail(message: string): never {
  throw new UnsupportedError(message, "executor");
}

function phaseClock() {
  let t = performance.now();
  const laps: Record<string, number> = {};
  return {
    laps,
    lap(name: string) {
      const now = performance.now();
      laps[name] = now - t;
      t = now;
    },
  };
}

const ALIGN = 64;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export interface CompileOptions {
  /**
   * Plan memory for an executor that may run a recurrent model's layers apart (Rammer's
   * `clustered` policy): when some weights are read by more than one node (an unrolled layer's
   * steps), every value gets a buffer of its own, unless that takes more than
   * PRIVATE_ARENA_MAX_BYTES. Shared buffers would tie each layer to the others' progress.
   */
  readonly layersApart?: boolean;
}

/** The most memory a plan without reuse may take before kiln shares buffers after all. */
export const PRIVATE_ARENA_MAX_BYTES = 64 << 20;

/** Whether some weights of at least CLUSTER_MIN_WEIGHT_BYTES are read by more than one node. */
function weightsReadTwice(g: Graph, constants: ReadonlyMap<string, Tensor>): boolean {
  const readers = new Map<string, number>();
  for (const n of g.nodes) for (const v of new Set(n.inputs)) {
    const t = constants.get(v);
    if (t && t.data.byteLength >= CLUSTER_MIN_WEIGHT_BYTES) readers.set(v, (readers.get(v) ?? 0) + 1);
  }
  return [...readers.values()].some((n) => n > 1);
}

export async function compileModel(model: Model, backend: CodegenBackend, options: CompileOptions = {}): Promise<CompiledModel> {
  const clock = phaseClock();
  const { model: optimized, stats } = optimize(model);
  clock.lap("optimize");
  const g = optimized.graph;
  // Weights, and nodes computed from weights alone (evaluated below, once), know their types exactly.
  const constants = new Map<string, Tensor>(g.initializers);
  const typeOf = (v: string): TensorType | undefined => {
    const c = constants.get(v);
    return c ? { dtype: c.dtype, shape: c.shape } : g.valueTypes.get(v) ?? g.inputs.find((x) => x.name === v)?.type ?? g.outputs.find((x) => x.name === v)?.type;
  };
  const staticShape = (v: string): number[] => {
    const t = typeOf(v);
    if (!t?.shape || !isStaticShape(t.shape)) throw new UnsupportedError(`value "${v}" has no static shape (data-dependent shapes run on the reference backend)`, DATA_DEPENDENT_SHAPES);
    return [...t.shape];
  };

  const weightValues = constantValues(g);
  const reports: NodeReport[] = [];
  for (const node of g.nodes) {
    if (!node.outputs.every((o) => o === "" || weightValues.has(o))) continue;
    const outs = evaluateNode(node, node.inputs.map((v) => (v === "" ? null : constants.get(v)!)), optimized.opsets);
    node.outputs.forEach((o, i) => o !== "" && outs[i] && constants.set(o, outs[i]!));
    reports.push({ node, kind: "constant" });
  }

  clock.lap("constants");
  // Lower every other node.
  const env = { typeOf, constantOf: (v: string) => constants.get(v), opsetOf: (op: string) => opsetFor(optimized.opsets, op) };
  const kernels: LoweredKernel[] = [];
  const plan: { node: Node; first: number; count: number; reason?: string }[] = [];
  g.nodes.forEach((node, i) => {
    if (node.outputs.every((o) => o === "" || weightValues.has(o))) return;
    const lowered = lowerNode(node, env, `n${i}.`);
    if (lowered.kind === "fallback") {
      plan.push({ node, first: 0, count: 0, reason: lowered.reason });
      reports.push({ node, kind: "reference", reason: lowered.reason, op: lowered.op });
    } else {
      plan.push({ node, first: kernels.length, count: lowered.kernels.length });
      kernels.push(...lowered.kernels);
      reports.push({ node, kind: "kernels", kernels: lowered.kernels });
    }
  });

  clock.lap("lower");
  // Memory: control block, inputs, the weights kernels read, the arena, then scratch.
  const memoryRef = (offset: number, v: string): ValueRef => ({ kind: "memory", offset, dtype: typeOf(v)!.dtype, shape: staticShape(v) });
  let top = align(CONTROL_BYTES);
  const inputs = g.inputs.map((v) => {
    const ref = memoryRef(top, v.name) as Extract<ValueRef, { kind: "memory" }>;
    top += align(shapeSize(ref.shape) * DTYPE_INFO[ref.dtype].bytes);
    return { name: v.name, ref };
  });
  const placedConstants = new Map<Tensor, number>();
  const placeConstant = (t: Tensor): number => {
    let at = placedConstants.get(t);
    if (at === undefined) {
      at = top;
      placedConstants.set(t, at);
      top += align(t.data.byteLength);
    }
    return at;
  };
  for (const k of kernels) for (const src of k.inputs.values()) {
    if (src.kind === "constant") placeConstant(src.tensor);
    else if (constants.has(src.value)) placeConstant(constants.get(src.value)!);
  }
  for (const n of g.nodes) for (const o of n.outputs) if (o !== "" && !weightValues.has(o)) staticShape(o);
  const apart = options.layersApart && weightsReadTwice(g, constants) ? planMemory(g, {}, { reuse: false }) : undefined;
  const memory = apart && apart.arenaBytes <= PRIVATE_ARENA_MAX_BYTES ? apart : planMemory(g);
  const arena = top;
  top = align(arena + memory.arenaBytes);

  const refOf = (v: string): ValueRef => {
    const c = constants.get(v);
    if (c) return { kind: "constant", tensor: c };
    const input = inputs.find((x) => x.name === v);
    if (input) return input.ref;
    const at = memory.offsets.get(v);
    if (at === undefined) throw new UnsupportedError(`value "${v}" has no place in memory`, "unplaced value");
    return memoryRef(arena + at, v);
  };
  const offsetOf = (v: string): number => {
    const c = constants.get(v);
    if (c) return placeConstant(c);
    const r = refOf(v);
    return (r as Extract<ValueRef, { kind: "memory" }>).offset;
  };
  const buffers = new Map<string, number>();
  for (const k of kernels) {
    for (const [name, src] of k.inputs) buffers.set(name, src.kind === "constant" ? placeConstant(src.tensor) : offsetOf(src.value));
    for (const o of k.func.outputs) buffers.set(o.name, offsetOf(k.output));
  }
  const bytesPerWorker = align(Math.max(16, ...kernels.map((k) => layoutScratch(k.func, Infinity).bytes)));
  const scratch = { offset: top, bytesPerWorker };
  const funcs = kernels.map((k) => k.func);
  const placement = { buffers, scratch };
  clock.lap("place");
  const features = await detectFeatures();
  const module: KernelModule = backend === "wasm" ? compileKernels(funcs, placement, features) : compileKernelsJs(funcs, placement);

  clock.lap("codegen");
  const steps: ProgramStep[] = plan.flatMap((p): ProgramStep[] => {
    if (p.reason === undefined) return Array.from({ length: p.count }, (_, j) => ({ kind: "kernel", kernel: p.first + j }));
    return [{
      kind: "reference", node: p.node,
      reads: new Map(nodeReads(p.node).map((v) => [v, refOf(v)])),
      writes: p.node.outputs.map((o) => (o === "" ? null : refOf(o))),
    }];
  });
  const range = (b: { name: string; type: "f32" | "f64"; shape: readonly number[] }) => ({ offset: buffers.get(b.name)!, bytes: shapeSize(b.shape) * (b.type === "f32" ? 4 : 8) });
  const access = funcs.map((f) => ({ reads: f.inputs.map(range), writes: f.outputs.map(range) }));
  const program: Program = {
    module, steps, opsets: optimized.opsets, inputs,
    outputs: g.outputs.map((v) => ({ name: v.name, ref: refOf(v.name) })),
    constants: [...placedConstants].map(([tensor, offset]) => ({ tensor, offset })),
    scratch, access,
  };
  const code = () => (module.kind === "js" ? module.source : printModule(buildKernels(funcs, placement, features)));
  const withLaunches = (launches: readonly Launch[], at: number): KernelModule => {
    const moved = { buffers, scratch: { offset: at, bytesPerWorker } };
    return backend === "wasm" ? compileKernels(funcs, moved, features, launches) : fail("the Rammer executor needs the wasm backend");
  };
  return { program, model: optimized, passes: stats, nodes: reports, memory, backend, code, phaseMs: clock.laps, withLaunches };
}

export interface RammerSchedule {
  readonly program: Program;
  readonly launches: readonly LaunchPlan[];
  readonly veus: number;
}

/**
 * Bytes of one launch's counters: a cache line per vEU's progress (no false sharing), one for the
 * blocked count, one for the sleepers, then an i32 per operator whose tasks share its loop dynamically.
 */
const counterBytes = (veus: number, dynamicOps: number) => (veus + 2) * ALIGN + align(4 * dynamicOps);

/**
 * The Rammer executor's program: kernels profiled on this machine, every run of kernel steps
 * planned by `policy` into an rProgram over `veus` vEUs, and the kernels' module rebuilt with
 * one dispatch function per launch, so each worker wakes once per launch instead of once per kernel.
 * `trace` makes every launch time its rTasks (dispatch.ts), for the measured half of the Gantt chart.
 */
export async function scheduleRammer(compiled: CompiledModel, veus: number, policy: Policy = clustered, trace = false): Promise<RammerSchedule> {
  const p = compiled.program;
  const kernelCount = p.access.length;
  const grains = granularities(veus);
  // Profile the kernels as Rammer runs them: fixed shares, no shared work counter.
  const ms = await profileKernels({ ...p, module: compiled.withLaunches([], p.scratch.offset) }, kernelCount, grains);
  const cost = (k: number, shares: number) => ms[k]![grains.indexOf(shares)]!;

  const runs: number[][] = [];
  p.steps.forEach((s, i) => {
    if (s.kind !== "kernel") return;
    const prev = p.steps[i - 1];
    if (prev?.kind === "kernel") runs[runs.length - 1]!.push(s.kernel);
    else runs.push([s.kernel]);
  });
  const launches = runs.map((kernels) => planLaunch(kernels, p.access, cost, grains, veus, policy));
  // Per launch: its counters, then (traced) a timestamp row per vEU: one at the start, one per entry.
  const traceStride = (l: LaunchPlan) => (trace ? align(8 * (1 + Math.max(...l.program.lists.map((list) => list.length)))) : 0);
  const regions: { counters: number; bytes: number; dynamic: Map<number, number>; trace: number; stride: number }[] = [];
  let end = p.scratch.offset;
  for (const l of launches) {
    const stride = traceStride(l);
    const dynamic = new Map(dynamicOps(l).map((op, i) => [op, end + counterBytes(veus, 0) + 4 * i]));
    const bytes = counterBytes(veus, dynamic.size);
    regions.push({ counters: end, bytes, dynamic, trace: end + bytes, stride });
    end += bytes + veus * stride;
  }
  const module = compiled.withLaunches(launches.map((l, i) => {
    const r = regions[i]!;
    return {
      lists: l.program.lists.map((list) => list.map((e) => (e.kind === "wait" ? e
        : { kind: "task" as const, kernel: l.kernels[e.task.op]!, share: e.task.share, shares: e.task.shares, counter: r.dynamic.get(e.task.op) ?? 0 }))),
      layout: { counters: r.counters, stride: ALIGN, blocked: r.counters + veus * ALIGN, sleepers: r.counters + (veus + 1) * ALIGN, ...(trace ? { trace: { offset: r.trace, stride: r.stride } } : {}) },
    };
  }), align(end));

  let launch = 0;
  const steps = p.steps.flatMap((s, i): ProgramStep[] => {
    if (s.kind !== "kernel") return [s];
    if (p.steps[i - 1]?.kind === "kernel") return [];
    const r = regions[launch]!, l = launches[launch]!;
    const traced = trace ? { trace: { offset: r.trace, stride: r.stride, stamps: l.program.lists.map((list) => 1 + list.length) } } : {};
    return [{ kind: "launch", kernel: kernelCount + launch++, counters: { offset: r.counters, bytes: r.bytes }, blocked: r.counters + veus * ALIGN, ...traced }];
  });
  const scratch = { offset: align(end), bytesPerWorker: p.scratch.bytesPerWorker };
  return { program: { ...p, module, steps, scratch }, launches, veus };
}
