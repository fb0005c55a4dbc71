/**
 * Where each Alloc'd buffer lives inside a worker's scratch region. Allocs nest like a stack:
 * a buffer takes the bytes above those of the allocs enclosing it, and siblings (which never
 * live at the same time) reuse the same bytes. Offsets are 16-byte aligned for v128 access.
 */
import { InternalError } from "../../ir/errors.js";
import { shapeSize } from "../../ir/tensor.js";
import type { Alloc, Func, Stmt } from "../../loopir/stmt.js";

export interface ScratchLayout {
  /** Byte offset of each alloc inside the worker's region. */
  readonly offsets: ReadonlyMap<Alloc, number>;
  /** Bytes the deepest nest of allocs needs. */
  readonly bytes: number;
}

const ALIGN = 16;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
export const elementBytes = (type: "f32" | "f64") => (type === "f32" ? 4 : 8);

export function layoutScratch(f: Func, bytesPerWorker: number): ScratchLayout {
  const offsets = new Map<Alloc, number>();
  const visit = (s: Stmt, top: number): number => {
    switch (s.kind) {
      case "alloc": {
        offsets.set(s, top);
        return visit(s.body, align(top + shapeSize(s.buffer.shape) * elementBytes(s.buffer.type)));
      }
      case "for": case "if": return visit(s.kind === "for" ? s.body : s.then, top);
      case "seq": return Math.max(top, ...s.body.map((b) => visit(b, top)));
      case "store": return top;
    }
  };
  const bytes = visit(f.body, 0);
  if (bytes > bytesPerWorker) {
    throw new InternalError(`kernel ${f.name}: local buffers need ${bytes} bytes of scratch per worker, the placement gives ${bytesPerWorker}`);
  }
  return { offsets, bytes };
}
