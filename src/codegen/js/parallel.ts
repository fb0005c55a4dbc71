/**
 * Which loop a kernel splits across workers. Every worker runs the whole kernel except the
 * split loop, of which it runs its contiguous share; Alloc buffers are private to a worker.
 * That is correct when the statements outside the loop only fill scratch buffers (each worker
 * fills its own copy, e.g. a packed tile or an intermediate the loop reads) and nothing outside
 * the loop reads what the loop writes (it would see only this worker's share). Otherwise, or
 * when there is not exactly one outermost parallel loop, the kernel runs on worker 0 alone.
 */
import { type Expr, loadsOf } from "../../loopir/expr.js";
import type { For, Func, Stmt } from "../../loopir/stmt.js";

export function splitLoop(f: Func): For | undefined {
  const outermost: For[] = [];
  const find = (s: Stmt): void => {
    if (s.kind === "for" && s.loop === "parallel") outermost.push(s);
    else children(s).forEach(find);
  };
  find(f.body);
  if (outermost.length !== 1) return undefined;
  const loop = outermost[0]!;

  const params = new Set([...f.inputs, ...f.outputs].map((b) => b.name));
  const inside = accesses(loop, undefined);
  const outside = accesses(f.body, loop);
  const writesOnlyScratch = [...outside.writes].every((b) => !params.has(b));
  const readsLoopResults = [...inside.writes].some((b) => outside.reads.has(b));
  return writesOnlyScratch && !readsLoopResults ? loop : undefined;
}

function children(s: Stmt): readonly Stmt[] {
  switch (s.kind) {
    case "for": case "alloc": return [s.body];
    case "if": return [s.then];
    case "seq": return s.body;
    case "store": return [];
  }
}

/** Names of the buffers `s` reads and writes, not looking inside `skip`. */
function accesses(s: Stmt, skip: Stmt | undefined): { reads: Set<string>; writes: Set<string> } {
  const reads = new Set<string>(), writes = new Set<string>();
  const read = (e: Expr) => loadsOf(e).forEach((l) => reads.add(l.buffer));
  const walk = (x: Stmt): void => {
    if (x === skip) return;
    if (x.kind === "store") {
      writes.add(x.buffer);
      x.index.forEach(read);
      read(x.value);
    }
    if (x.kind === "if") read(x.cond);
    children(x).forEach(walk);
  };
  walk(s);
  return { reads, writes };
}
