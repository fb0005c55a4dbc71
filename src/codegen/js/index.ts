/**
 * The JavaScript backend (debugging, engines without SIMD): lowered loop IR functions to a
 * KernelModule `{ kind: "js", source }`, the source of `(memory) => kernels[]`. Kernel i runs
 * funcs[i]; its parallel loop (see parallel.ts) is split into contiguous shares, worker w
 * running iterations [floor(n*w/W), floor(n*(w+1)/W)). The source is self-contained, indented
 * and readable: it is what `kiln inspect --code` shows for this backend.
 */
import type { Func } from "../../loopir/stmt.js";
import type { KernelModule } from "../kernel-module.js";
import { type Helper, helperLines } from "./helpers.js";
import { type Placement, emitKernel } from "./kernel.js";

export type { Placement } from "./kernel.js";
export { scratchBytes } from "./scratch.js";

export type JsKernelModule = Extract<KernelModule, { kind: "js" }>;

export function compileKernelsJs(funcs: readonly Func[], placement: Placement): JsKernelModule {
  const helpers = new Set<Helper>();
  const kernels = funcs.flatMap((f, k) => [...emitKernel(f, k, placement, helpers, 1), ""]);
  const source = [
    "(memory) => {",
    "  \"use strict\";",
    "  const fround = Math.fround;",
    ...helperLines(helpers).map((l) => `  ${l}`),
    "",
    ...kernels,
    `  return [${funcs.map((_, k) => `kernel${k}()`).join(", ")}];`,
    "}",
  ].join("\n");
  return { kind: "js", source };
}
