/**
 * Col2Im in gather form: each output element sums the column entries whose blocks cover it, so
 * no output is written twice and the op composes as an access (inlined into what reads it).
 * Along an axis with stride s, dilation 1 and begin padding p, output o is covered by block
 * taps k = (o+p) mod s + j*s of blocks (o+p) div s - j, so only ceil(K/s) taps per axis are
 * visited (one, for the usual kernel = stride upsampling); with dilation d every tap k is
 * visited and kept where o + p - k*d is a multiple of s. ConvTranspose runs as a MatMul into
 * this (src/passes/conv-transpose.ts).
 */
import { type Expr, add, and, div, eq, ge, lit, lt, mod, mul, select, sub } from "../loopir/expr.js";
import { readWindowAttrs, resolveWindow } from "../ops/conv.js";
import type { OpLowering } from "./lowering.js";

/** Along one spatial axis: the taps to visit, and for visit j at output o the block, the tap and whether it counts. */
interface AxisGather {
  readonly visits: number;
  at(o: Expr, j: number): { block: Expr; tap: Expr; valid: Expr };
}

function axisGather(kernel: number, stride: number, dilation: number, padBegin: number, blocks: number): AxisGather {
  const inRange = (i: Expr) => and(ge(i, 0), lt(i, blocks));
  if (dilation === 1) {
    return {
      visits: Math.ceil(kernel / stride),
      at: (o, j) => {
        const y = add(o, padBegin);
        const tap = add(mod(y, stride), j * stride), block = sub(div(y, stride), j);
        // tap < kernel for every o when even the largest, stride - 1 + j*stride, is.
        return { block, tap, valid: stride - 1 + j * stride < kernel ? inRange(block) : and(lt(tap, kernel), inRange(block)) };
      },
    };
  }
  return {
    visits: kernel,
    at: (o, j) => {
      const num = sub(add(o, padBegin), j * dilation);
      const block = div(num, stride);
      return { block, tap: lit(j, "int"), valid: and(eq(mod(num, stride), 0), inRange(block)) };
    },
  };
}

export const col2im: OpLowering = (ctx) => {
  const x = ctx.inputs[0]!;
  const [image, blockShape] = [ctx.constants[1], ctx.constants[2]];
  if (!image || !blockShape) return "Col2Im with a non-constant image or block shape";
  const kernel = blockShape.ints(), spatial = image.ints();
  const win = resolveWindow(readWindowAttrs(ctx, kernel, false, "NOTSET"), spatial);
  const axes = kernel.map((k, i) => axisGather(k, win.strides[i]!, win.dilations[i]!, win.padsBegin[i]!, win.outShape[i]!));
  const taps = kernel.reduce((n, k) => n * k, 1);
  return [{
    shape: ctx.outputShapes[0]!,
    at: (index: readonly Expr[]) => {
      const [n, c] = [index[0]!, index[1]!];
      // Every combination of one visit per axis; the flat tap and block indices are row-major.
      let sum: Expr | undefined;
      const visit = (d: number, tap: Expr, block: Expr, valid: Expr[]) => {
        if (d === axes.length) {
          const term = select(and(...valid), x.at([n, add(mul(c, taps), tap), block]), lit(0, "f32"));
          sum = sum ? add(sum, term) : term;
          return;
        }
        for (let j = 0; j < axes[d]!.visits; j++) {
          const g = axes[d]!.at(index[2 + d]!, j);
          visit(d + 1, add(mul(tap, kernel[d]!), g.tap), add(mul(block, win.outShape[d]!), g.block), [...valid, g.valid]);
        }
      };
      visit(0, lit(0, "int"), lit(0, "int"), []);
      return sum!;
    },
  }];
};
