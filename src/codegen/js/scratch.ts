/**
 * Layout of a kernel's Alloc buffers in a worker's scratch region: a stack, so an Alloc's
 * buffer sits above those of the Allocs enclosing it and sibling Allocs reuse the same bytes.
 */
import { shapeSize } from "../../ir/tensor.js";
import type { BufferDecl, Func, Stmt } from "../../loopir/stmt.js";

/** Every buffer starts 16-byte aligned (enough for f64, and for SIMD-width copies later). */
const ALIGN = 16;

export const bytesOf = (b: BufferDecl): number => shapeSize(b.shape) * (b.type === "f32" ? 4 : 8);

export class ScratchStack {
  private top = 0;
  /** The most bytes in use at once. */
  peak = 0;

  /** Reserve room for `b`; returns its offset from the start of the worker's region. */
  push(b: BufferDecl): number {
    const at = this.top;
    this.top = at + Math.ceil(bytesOf(b) / ALIGN) * ALIGN;
    this.peak = Math.max(this.peak, this.top);
    return at;
  }

  /** Release back to `mark` (an offset `push` returned). */
  pop(mark: number): void {
    this.top = mark;
  }
}

/** Scratch bytes per worker that the kernel of `f` needs. */
export function scratchBytes(f: Func): number {
  const stack = new ScratchStack();
  const walk = (s: Stmt): void => {
    switch (s.kind) {
      case "for": case "if": return walk(s.kind === "for" ? s.body : s.then);
      case "seq": return s.body.forEach(walk);
      case "store": return;
      case "alloc": {
        const mark = stack.push(s.buffer);
        walk(s.body);
        return stack.pop(mark);
      }
    }
  };
  walk(f.body);
  return stack.peak;
}
