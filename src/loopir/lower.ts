/**
 * Lowering: tensor expressions plus a schedule to loop statements.
 *
 * Each stage at root becomes a loop nest over its leaf loops; the original axis values are
 * rebuilt from the split/fuse relations (`i = i.outer*4 + i.inner`). Splits whose factor does
 * not divide the extent get an if-guard placed just inside the innermost loop it depends on,
 * or, when peeled, a main loop plus a remainder copy of the nest. A reduction's init goes right
 * before its first reduction loop, as its own nest over the spatial loops inside the reduction
 * (or, when one of those is peeled, guarded by "every reduction loop is at 0" inside the update,
 * as the remainder copies need). Inlined stages are substituted into
 * their readers; attached (compute_at) stages and cache_read copies are emitted at the top of
 * their loop's body into a local buffer sized by bound inference, which the stage then reads
 * instead. Indices are then flattened and simplified against the loop ranges.
 */
import { stridesOf } from "../ir/tensor.js";
import { type Box, regionOf } from "./bounds.js";
import type { Tensor } from "./compute.js";
import {
  type Expr, FALSE, TRUE, add, and, binary, eq, ge, ivar, lit, load, loadsOf, lt, mapExpr, mul, sub, substitute, varsOf,
} from "./expr.js";
import { type Schedule, type Stage, isReduceLoop, loopExtents, reduceAxes, rootExtents } from "./schedule.js";
import { type Range, type Ranges, simplify } from "./simplify.js";
import {
  type BufferDecl, type Func, type Stmt, LANES, alloc, forLoop, ifThen, mapStmtExprs, seq, store,
} from "./stmt.js";

const decl = (t: Tensor): BufferDecl => ({ name: t.name, type: t.type, shape: t.shape });

export function lower(s: Schedule, name = s.outputs.join("_")): Func {
  const stageOf = new Map(s.stages.map((st) => [st.tensor.name, st]));
  const placeholders = [...new Set(s.stages.flatMap((st) => st.tensor.inputs).filter((t) => t.body === undefined))];
  const outputs = s.outputs.map((o) => decl(stageOf.get(o)!.tensor));
  const intermediates = s.stages.filter((st) => st.attach.kind === "root" && !s.outputs.includes(st.tensor.name)).map((st) => decl(st.tensor));

  /** A stage's body with inlined producers substituted (still over the tensor's own axes). */
  const inlined = (e: Expr): Expr => mapExpr(e, (x) => {
    const p = x.kind === "load" ? stageOf.get(x.buffer) : undefined;
    if (!p || p.attach.kind !== "inline" || x.kind !== "load") return x;
    const body = p.tensor.body as Expr;
    return inlined(substitute(body, new Map(p.tensor.axes.map((a, d) => [a.name, x.index[d]!]))));
  });

  /**
   * Prepare one stage (`box` is its tile when attached): its body over its leaf variables, their
   * ranges (for the bound inference of what it reads), and how to emit it given the loop ranges
   * around it and the local buffers of the stages attached before it.
   */
  function stage(st: Stage, box?: Box): Prepared {
    const t = st.tensor;
    const prefix = box ? `${t.name}.` : "";
    const root = rootExtents(st);
    t.axes.forEach((a, d) => box && (root[a.name] = box.extent[d]!));
    const leaves = st.leaves;
    const n = leaves.length;
    const leafVar = (l: string) => ivar(prefix + l);

    // Axis values over leaf variables, and tail guards (both in loop-local coordinates).
    const extents0 = loopExtents(st, root);
    const local = new Map<string, Expr>(leaves.map((l) => [l, leafVar(l)]));
    for (const r of [...st.relations].reverse()) {
      if (r.kind === "split") local.set(r.parent, add(mul(local.get(r.outer)!, r.factor), local.get(r.inner)!));
      else {
        local.set(r.outer, binary("/", local.get(r.fused)!, extents0[r.inner]!));
        local.set(r.inner, binary("%", local.get(r.fused)!, extents0[r.inner]!));
      }
    }
    const guards: Expr[] = st.relations.flatMap((r) =>
      r.kind === "split" && !r.peel && extents0[r.parent]! % r.factor !== 0 ? [lt(local.get(r.parent)!, extents0[r.parent]!)] : []);
    const axisValue = new Map<string, Expr>([...t.axes, ...reduceAxes(t)].map((a) => [a.name, local.get(a.name)!]));
    if (box) {
      t.axes.forEach((a, d) => {
        const v = add(box.min[d]!, local.get(a.name)!);
        axisValue.set(a.name, v);
        guards.push(ge(v, 0), lt(v, t.shape[d]!));
      });
    }
    const depthOf = (e: Expr) => Math.max(0, ...[...varsOf(e)].map((v) => leaves.findIndex((l) => prefix + l === v) + 1));

    // An attached stage writes its tile into a local buffer of the box's shape.
    const index = t.axes.map((a) => (box ? local : axisValue).get(a.name)!);
    const body = t.body!;
    const value = substitute(inlined(body.kind === "reduce" ? body.value : body), axisValue);
    const reduceLoops = leaves.filter((l) => isReduceLoop(st, l));
    const firstReduce = leaves.findIndex((l) => reduceLoops.includes(l));
    // The init runs as its own nest before the first reduction loop (TVM's decompose_reduction),
    // unless a peeled spatial loop inside would need the remainder copies: then it is guarded.
    const peeledInside = st.relations.some((r) => r.kind === "split" && r.peel && extents0[r.parent]! % r.factor !== 0
      && leaves.indexOf(r.outer) >= firstReduce && !reduceLoops.includes(r.outer));
    const decomposeInit = reduceLoops.length > 0 && !peeledInside;
    const initStmt = body.kind === "reduce" ? store(t.name, index, body.init) : undefined;
    const mentionsReduce = (e: Expr) => reduceLoops.some((l) => varsOf(e).has(prefix + l));

    function innermost(locals: Locals): Stmt {
      const v = rewriteLocals(value, locals);
      if (body.kind !== "reduce") return store(t.name, index, v);
      const old = load(t.name, index, t.type);
      const update = store(t.name, index, body.op === "sum" ? add(old, v) : binary(body.op, old, v));
      return decomposeInit ? update : seq([ifThen(and(...reduceLoops.map((l) => eq(leafVar(l), 0))), initStmt!), update]);
    }

    /** The init over the spatial loops inside the reduction, with their kinds and tail guards. */
    function initNest(d: number, ext: Record<string, number>): Stmt {
      const conds = guards.filter((g) => depthOf(g) > d && !mentionsReduce(g));
      const init = conds.length > 0 ? ifThen(and(...conds), initStmt!) : initStmt!;
      return leaves.slice(d).filter((l) => !reduceLoops.includes(l)).reduceRight<Stmt>((b, l) => {
        const kind = st.kinds[l] === "unrolled" || (st.kinds[l] === "vectorized" && ext[l] === LANES) ? st.kinds[l]! : "serial";
        return forLoop(prefix + l, ext[l]!, b, kind);
      }, init);
    }

    /**
     * The stages attached at leaf d-1 (d = 0: none), producers first, each with its box and
     * prepared body. Boxes come from their readers: this stage's value over the loops from d
     * on, the later stages attached here, and the stages attached at deeper loops (whose own
     * boxes come first, by the same rule); `all` ranges over this stage's loops.
     */
    function attachedAt(d: number, all: Ranges): [Stage, Box, Prepared][] {
      if (d === 0) return [];
      const here = leaves[d - 1];
      const inner = new Set(leaves.slice(d).map((l) => prefix + l));
      const attached = s.stages.filter((p) => p.attach.kind === "at" && p.attach.consumer === t.name && p.attach.loop === here);
      if (attached.length === 0) return [];
      const deeper: Prepared[] = [];
      for (let e = d + 1; e <= n; e++) deeper.push(...attachedAt(e, all).map(([, , q]) => q));
      const prepared: [Stage, Box, Prepared][] = [];
      for (const p of [...attached].reverse()) {
        const readers = [{ value, inner, ranges: all },
          ...[...prepared.map(([, , q]) => q), ...deeper].map((q) => ({ value: q.value, inner: new Set([...q.leafRanges.keys(), ...inner]), ranges: q.leafRanges }))];
        const reads = readers.flatMap((r) => loadsOf(r.value).filter((x) => x.buffer === p.tensor.name).map((x) => x.index));
        const b = regionOf(reads, p.tensor.shape, new Set(readers.flatMap((r) => [...r.inner])), new Map(readers.flatMap((r) => [...r.ranges])));
        prepared.unshift([p, b, stage(p, b)]);
      }
      return prepared;
    }

    function level(d: number, ext: Record<string, number>, ranges: Ranges, locals: Locals): Stmt {
      const here = d > 0 ? leaves[d - 1] : undefined;
      const inner = new Set(leaves.slice(d).map((l) => prefix + l));
      const all = new Map([...ranges, ...leaves.slice(d).map((l): [string, Range] => [prefix + l, { lo: 0, hi: ext[l]! - 1 }])]);
      const fills: [BufferDecl, Stmt][] = [];
      const nextLocals = new Map(locals);
      // Stages attached here: boxes from their readers (this stage and the later ones attached
      // here), so consumers first; then emitted producers first, each reading the earlier tiles.
      const prepared = attachedAt(d, all);
      const tiles = new Map<string, Local>();
      // Tiles attached further out that a stage attached here reads (nested compute_at).
      const outer = [...locals].filter(([, l]) => l.attached);
      for (const [p, b, q] of prepared) {
        fills.push([{ ...decl(p.tensor), shape: b.extent }, q.emit(ranges, new Map([...outer, ...tiles]))]);
        tiles.set(p.tensor.name, { buffer: p.tensor.name, min: b.min, attached: true });
        nextLocals.set(p.tensor.name, tiles.get(p.tensor.name)!);
      }
      for (const [tensor, at] of Object.entries(st.caches)) {
        if (at !== here) continue;
        const src = [...placeholders, ...s.stages.map((x) => x.tensor)].find((x) => x.name === tensor)!;
        const reads = loadsOf(value).filter((x) => x.buffer === tensor).map((x) => x.index);
        const b = regionOf(reads, src.shape, inner, all);
        const buf: BufferDecl = { name: `${tensor}.${t.name}`, type: src.type, shape: b.extent };
        nextLocals.set(tensor, { buffer: buf.name, min: b.min });
        fills.push([buf, copyNest(buf, src, b)]);
      }
      let rest = d === n ? innermost(nextLocals) : loop(d, ext, ranges, nextLocals);
      if (decomposeInit && d === firstReduce) rest = seq([initNest(d, ext), rest]);
      const conds = guards.filter((g) => depthOf(g) === d);
      if (conds.length > 0) rest = ifThen(and(...conds), rest);
      for (const [buf, fill] of fills.reverse()) rest = alloc(buf, seq([fill, rest]));
      return rest;
    }

    function loop(d: number, ext: Record<string, number>, ranges: Ranges, locals: Locals): Stmt {
      const l = leaves[d]!;
      const v = prefix + l;
      let kind = st.kinds[l] ?? "serial";
      // A vectorized loop shorter than LANES (a peeled tail, a compute_at tile) runs serially.
      if (kind === "vectorized" && ext[l] !== LANES) kind = "serial";
      const peel = st.relations.find((r) => r.kind === "split" && r.peel && r.outer === l && extents0[r.parent]! % r.factor !== 0);
      if (peel?.kind !== "split") {
        return forLoop(v, ext[l]!, level(d + 1, ext, new Map([...ranges, [v, { lo: 0, hi: ext[l]! - 1 }]]), locals), kind);
      }
      const full = Math.floor(extents0[peel.parent]! / peel.factor);
      const main = full > 0 ? [forLoop(v, full, level(d + 1, { ...ext, [l]: full }, new Map([...ranges, [v, { lo: 0, hi: full - 1 }]]), locals), kind)] : [];
      const tailExt = { ...ext, [l]: 1, [peel.inner]: extents0[peel.parent]! % peel.factor };
      const tail = level(d + 1, tailExt, new Map([...ranges, [v, { lo: full, hi: full }]]), locals);
      return seq([...main, mapStmtExprs(tail, (e) => substitute(e, new Map([[v, lit(full, "int")]])))]);
    }

    const leafRanges = new Map(leaves.map((l): [string, Range] => [prefix + l, { lo: 0, hi: extents0[l]! - 1 }]));
    return { value, leafRanges, emit: (enclosing, tiles) => level(0, extents0, enclosing, tiles) };
  }

  const body = seq(s.stages.filter((st) => st.attach.kind === "root").map((st) => stage(st).emit(new Map(), new Map())));
  const wrapped = intermediates.reduceRight<Stmt>((b, buf) => alloc(buf, b), body);
  const shapes = new Map([...placeholders.map(decl), ...outputs, ...intermediates].map((b) => [b.name, b.shape]));
  return { name, inputs: placeholders.map(decl), outputs, body: simplifyStmt(flatten(wrapped, shapes), new Map()) };
}

/** A local buffer standing for a box of a tensor (a cache_read copy or a compute_at tile). */
interface Local { readonly buffer: string; readonly min: readonly Expr[]; readonly attached?: boolean }
type Locals = ReadonlyMap<string, Local>;

interface Prepared {
  readonly value: Expr;
  readonly leafRanges: Ranges;
  emit(enclosing: Ranges, tiles: Locals): Stmt;
}

/** Loads of cached tensors read the local copy, shifted by the box origin. */
function rewriteLocals(e: Expr, locals: Locals): Expr {
  if (locals.size === 0) return e;
  return mapExpr(e, (x) => {
    const c = x.kind === "load" ? locals.get(x.buffer) : undefined;
    return c && x.kind === "load" ? load(c.buffer, x.index.map((i, d) => sub(i, c.min[d]!)), x.type) : x;
  });
}

/** Copy a box of `src` into `buf`, skipping the part of the box outside the tensor. */
function copyNest(buf: BufferDecl, src: Tensor, box: Box): Stmt {
  const vars = buf.shape.map((_, d) => ivar(`${buf.name}.i${d}`));
  const at = box.min.map((m, d) => add(m, vars[d]!));
  const inside = and(...at.flatMap((x, d) => [ge(x, 0), lt(x, src.shape[d]!)]));
  const copy = ifThen(inside, store(buf.name, vars, load(src.name, at, src.type)));
  return vars.reduceRight<Stmt>((b, v, d) => forLoop(v.name, buf.shape[d]!, b), copy);
}

/** Row-major flat indices for every load and store. */
function flatten(s: Stmt, shapes: ReadonlyMap<string, readonly number[]>): Stmt {
  const flat = (buffer: string, index: readonly Expr[]): Expr[] => {
    const strides = stridesOf(shapes.get(buffer) ?? []);
    return [index.reduce<Expr>((acc, e, d) => add(acc, mul(e, strides[d]!)), lit(0, "int"))];
  };
  const fe = (e: Expr) => mapExpr(e, (x) => (x.kind === "load" && x.index.length !== 1 ? load(x.buffer, flat(x.buffer, x.index), x.type) : x));
  switch (s.kind) {
    case "alloc": return alloc(s.buffer, flatten(s.body, new Map([...shapes, [s.buffer.name, s.buffer.shape]])));
    case "store": return store(s.buffer, flat(s.buffer, s.index), fe(s.value));
    case "for": return { ...s, body: flatten(s.body, shapes) };
    case "seq": return seq(s.body.map((b) => flatten(b, shapes)));
    case "if": return { ...s, cond: fe(s.cond), then: flatten(s.then, shapes) };
  }
}

/** Fold expressions against the enclosing loop ranges; drop guards that always hold and loops of one iteration. */
export function simplifyStmt(s: Stmt, ranges: Ranges): Stmt {
  switch (s.kind) {
    case "for":
      if (s.extent === 1) return simplifyStmt(mapStmtExprs(s.body, (e) => substitute(e, new Map([[s.v, lit(0, "int")]]))), ranges);
      return { ...s, body: simplifyStmt(s.body, new Map([...ranges, [s.v, { lo: 0, hi: s.extent - 1 }]])) };
    case "seq": return seq(s.body.map((b) => simplifyStmt(b, ranges)));
    case "store": return store(s.buffer, s.index.map((e) => simplify(e, ranges)), simplify(s.value, ranges));
    case "alloc": return alloc(s.buffer, simplifyStmt(s.body, ranges));
    case "if": {
      const cond = simplify(s.cond, ranges);
      return cond === TRUE ? simplifyStmt(s.then, ranges) : cond === FALSE ? seq([]) : ifThen(cond, simplifyStmt(s.then, ranges));
    }
  }
}
