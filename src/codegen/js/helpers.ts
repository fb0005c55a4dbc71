/**
 * Helper functions emitted into a JS kernel module's source (the module imports nothing at run
 * time). Each is the same arithmetic as src/loopir/interpret.ts and simplify.ts, in the same
 * order, so results are bit-identical.
 */
export type Helper = "idiv" | "imod" | "erf" | "sigmoid";

const SOURCE: Record<Helper, readonly string[]> = {
  idiv: [
    "// integer floor division",
    "function idiv(a, b) { return Math.floor(a / b); }",
  ],
  imod: [
    "// integer floor modulo",
    "function imod(a, b) { return a - b * Math.floor(a / b); }",
  ],
  erf: [
    "// erf (Abramowitz and Stegun 7.1.26), as the interpreter computes it",
    "function erf(x) {",
    "  const a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);",
    "  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);",
    "  return Math.sign(x) * y;",
    "}",
  ],
  sigmoid: [
    "function sigmoid(x) { return 1 / (1 + Math.exp(-x)); }",
  ],
};

/** Source lines of the helpers in `used`, in a fixed order. */
export function helperLines(used: ReadonlySet<Helper>): string[] {
  return (Object.keys(SOURCE) as Helper[]).filter((h) => used.has(h)).flatMap((h) => SOURCE[h]);
}
