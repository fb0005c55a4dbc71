/**
 * Passes and the pass manager. A pass is a pure function from a model to a model; the
 * manager runs a named list of them, verifies the IR after each (so the pass that breaks an
 * invariant gets the blame), and can hand the IR after any pass to a dump callback.
 */
import { InternalError } from "../ir/errors.js";
import type { Model } from "../ir/graph.js";
import { verifyGraph } from "../ir/verify.js";

export interface Pass {
  readonly name: string;
  run(model: Model): Model;
}

export interface PassStats {
  readonly pass: string;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly ms: number;
}

export interface PassManagerOptions {
  /** Run the verifier after every pass (on by default). */
  readonly verify?: boolean;
  /** Called with the model after each pass. */
  readonly dump?: (pass: string, model: Model) => void;
}

export function runPasses(model: Model, passes: readonly Pass[], options: PassManagerOptions = {}): { model: Model; stats: PassStats[] } {
  const stats: PassStats[] = [];
  let m = model;
  for (const p of passes) {
    const before = m.graph.nodes.length;
    const t0 = performance.now();
    m = p.run(m);
    const ms = performance.now() - t0;
    if (options.verify ?? true) {
      try {
        verifyGraph(m.graph);
      } catch (e) {
        throw new InternalError(`pass ${p.name} produced an ill-formed graph: ${(e as Error).message}`);
      }
    }
    stats.push({ pass: p.name, nodesBefore: before, nodesAfter: m.graph.nodes.length, ms });
    options.dump?.(p.name, m);
  }
  return { model: m, stats };
}
