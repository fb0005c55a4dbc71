/**
 * Which loop, if any, a kernel splits across workers. Workers run a kernel side by side with no
 * barrier inside it, so the outermost parallel loop P is split only when every worker can run
 * everything outside P on its own: the code outside P may write only local (scratch) buffers,
 * which each worker computes in full for itself; P may write only outputs and buffers allocated
 * inside it; and nothing outside P may read an output that P writes (another worker's share).
 * Otherwise the kernel runs serially on worker 0, which is always correct.
 */
import { loadsOf } from "../../loopir/expr.js";
import type { For, Func, Stmt } from "../../loopir/stmt.js";

export function parallelLoop(f: Func): For | undefined {
  const p = findParallel(f.body);
  if (!p) return undefined;
  const globals = new Set([...f.inputs, ...f.outputs].map((b) => b.name));
  const storedInP = new Set<string>(), loadedOutside = new Set<string>();
  let ok = true;
  const walk = (s: Stmt, inside: boolean, localsInP: ReadonlySet<string>): void => {
    switch (s.kind) {
      case "for": return walk(s.body, inside || s === p, localsInP);
      case "seq": return s.body.forEach((b) => walk(b, inside, localsInP));
      case "if":
        if (!inside) loadsOf(s.cond).forEach((l) => loadedOutside.add(l.buffer));
        return walk(s.then, inside, localsInP);
      case "alloc":
        if (globals.has(s.buffer.name)) ok = false;
        return walk(s.body, inside, inside ? new Set([...localsInP, s.buffer.name]) : localsInP);
      case "store":
        if (inside) {
          if (!globals.has(s.buffer) && !localsInP.has(s.buffer)) ok = false;
          storedInP.add(s.buffer);
        } else {
          if (globals.has(s.buffer)) ok = false;
          [...s.index, s.value].forEach((e) => loadsOf(e).forEach((l) => loadedOutside.add(l.buffer)));
        }
    }
  };
  walk(f.body, false, new Set());
  const crossRead = [...storedInP].some((b) => globals.has(b) && loadedOutside.has(b));
  return ok && !crossRead ? p : undefined;
}

function findParallel(s: Stmt): For | undefined {
  switch (s.kind) {
    case "for": return s.loop === "parallel" ? s : findParallel(s.body);
    case "seq": for (const b of s.body) { const p = findParallel(b); if (p) return p; } return undefined;
    case "if": return findParallel(s.then);
    case "alloc": return findParallel(s.body);
    case "store": return undefined;
  }
}
