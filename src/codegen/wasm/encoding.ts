/**
 * Byte-level encoding of the WebAssembly binary format: LEB128 integers, IEEE floats, names,
 * vectors and sections. Everything is a plain `number[]` of bytes; the module builder
 * concatenates them once at the end.
 */
import { InternalError } from "../../ir/errors.js";

/** Unsigned LEB128 of a u32 (indices, counts, offsets). */
export function u32(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new InternalError(`u32 out of range: ${n}`);
  const out: number[] = [];
  do {
    const b = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? b | 0x80 : b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 of an i32 or i64 (constants). Works on bigints so both widths share one path. */
export function sleb(value: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(value & 0x7fn);
    value >>= 7n;
    // Done when the remaining bits are all copies of the sign bit just written.
    if ((value === 0n && (b & 0x40) === 0) || (value === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function f32(x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...b];
}

export function f64(x: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [...b];
}

export function name(s: string): number[] {
  const utf8 = new TextEncoder().encode(s);
  return [...u32(utf8.length), ...utf8];
}

/** A length-prefixed vector of already-encoded items. */
export function vec(items: readonly (readonly number[])[]): number[] {
  return [...u32(items.length), ...items.flat()];
}

/** A section: id byte, then the body's byte length, then the body. */
export function section(id: number, body: readonly number[]): number[] {
  return [id, ...u32(body.length), ...body];
}
