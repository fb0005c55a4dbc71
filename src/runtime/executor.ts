/**
 * The op-by-op executor: one shared memory laid out by the program, the weights copied in once,
 * and per inference: copy the inputs in, run every step in order (each kernel across all
 * workers with a barrier after it, each reference step on this thread), copy the outputs out.
 */
import { DTYPE_INFO } from "../ir/dtype.js";
import { InternalError } from "../ir/errors.js";
import { DEFAULT_MAX_ELEMENTS, Tensor, shapeSize, withElementLimit } from "../ir/tensor.js";
import { type InterpreterOptions, Scope, evaluateNode, runGraph } from "../ops/interpreter.js";
import { type Program, type ValueRef, programMemory } from "./program.js";
import { yieldToEventLoop } from "./platform.js";
import { WorkerPool } from "./worker-pool.js";


export interface ExecutorStats {
  /** Pool steps (each one wake-up of every worker and one barrier) since creation: kernels and launches. */
  readonly poolSteps: number;
  /** Rammer waits that found their predecessor not done yet, since creation. */
  readonly blockedWaits: number;
  readonly referenceSteps: number;
}

/** A traced launch of one inference: per vEU, its clock (ms) at the start and after each entry of its list. */
export type LaunchTrace = readonly Float64Array[];

/** Inferences give the event loop a turn at least this often (ms), so timers and I/O go on during long ones. */
const YIELD_MS = 10;

export class Executor {
  private referenceSteps = 0;
  private blockedWaits = 0;
  private traces: LaunchTrace[] = [];
  /** The end of the last inference started: inferences share the memory, so each waits for the one before. */
  private tail: Promise<unknown> = Promise.resolve();
  /** When the event loop last had a turn during inferences (see YIELD_MS). */
  private lastYield = 0;

  private constructor(private readonly program: Program, private readonly memory: WebAssembly.Memory, private readonly pool: WorkerPool,
    private readonly limits: InterpreterOptions) {}

  /** `limits` bound the reference steps as they bound the interpreter (runModel). */
  static async create(program: Program, threads: number, limits: InterpreterOptions = {}): Promise<Executor> {
    const memory = programMemory(program, threads);
    const pool = await WorkerPool.create(memory, program.module, threads, 0);
    return new Executor(program, memory, pool, limits);
  }

  get threads(): number {
    return this.pool.threads;
  }

  get stats(): ExecutorStats {
    return { poolSteps: this.pool.stats.steps, blockedWaits: this.blockedWaits, referenceSteps: this.referenceSteps };
  }

  /** The traced launches of the last inference, in order (none unless the program was scheduled with tracing). */
  get lastTrace(): readonly LaunchTrace[] {
    return this.traces;
  }

  /** One inference, after those already started; `feeds` are checked by the caller (names, dtypes, shapes). */
  run(feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
    const result = this.tail.then(() => this.runNow(feeds));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runNow(feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
    const p = this.program;
    this.traces = [];
    for (const input of p.inputs) this.write(input.ref, feeds.get(input.name)!);
    for (const step of p.steps) {
      if (performance.now() - this.lastYield > YIELD_MS) {
        await yieldToEventLoop();
        this.lastYield = performance.now();
      }
      if (step.kind === "kernel") {
        // The pool returns a promise only when the step outlasted the barrier's spin.
        const slow = this.pool.run(step.kernel);
        if (slow) await slow;
        continue;
      }
      if (step.kind === "launch") {
        bytesOf(this.memory, step.counters.offset, step.counters.bytes).fill(0);
        // The vEUs' progress counters come before the blocked count (compile.ts counterBytes).
        const slow = this.pool.run(step.kernel, { offset: step.counters.offset, bytes: step.blocked - step.counters.offset });
        if (slow) await slow;
        this.blockedWaits += new Int32Array(this.memory.buffer, step.blocked, 1)[0]!;
        const t = step.trace;
        if (t) this.traces.push(t.stamps.map((n, v) => new Float64Array(this.memory.buffer.slice(t.offset + v * t.stride, t.offset + v * t.stride + 8 * n))));
        continue;
      }
      this.referenceSteps++;
      const scope = new Scope();
      for (const [name, ref] of step.reads) scope.set(name, this.read(ref));
      const inputs = step.node.inputs.map((v) => (v === "" ? null : scope.get(v)!));
      const limits = this.limits;
      const outs = withElementLimit(limits.maxElements ?? DEFAULT_MAX_ELEMENTS,
        () => evaluateNode(step.node, inputs, p.opsets, (g, ins) => runGraph(g, ins, p.opsets, scope, limits), undefined, limits));
      step.writes.forEach((ref, i) => {
        const t = outs[i];
        if (!ref) return;
        if (!t) throw new InternalError(`${step.node.op}: output ${i} was not produced`);
        this.write(ref, t);
      });
    }
    return new Map(p.outputs.map((o) => [o.name, this.read(o.ref)]));
  }

  /** Stop the workers once the inferences started have ended. */
  async close(): Promise<void> {
    await this.tail;
    await this.pool.close();
  }

  private read(ref: ValueRef): Tensor {
    if (ref.kind === "constant") return ref.tensor;
    const n = shapeSize(ref.shape);
    const data = DTYPE_INFO[ref.dtype].make(n);
    new Uint8Array(data.buffer).set(bytesOf(this.memory, ref.offset, data.byteLength));
    return new Tensor(ref.dtype, ref.shape, data);
  }

  private write(ref: ValueRef, t: Tensor): void {
    if (ref.kind !== "memory") throw new InternalError("a step writes a constant");
    if (t.dtype !== ref.dtype || t.shape.length !== ref.shape.length || t.shape.some((d, i) => d !== ref.shape[i])) {
      throw new InternalError(`a ${t.dtype}[${t.shape.join(",")}] value does not fit its planned ${ref.dtype}[${ref.shape.join(",")}] buffer`);
    }
    bytesOf(this.memory, ref.offset, t.data.byteLength).set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
}

const bytesOf = (memory: WebAssembly.Memory, offset: number, length: number) => new Uint8Array(memory.buffer, offset, length);
