/** Test helpers: hand-built ONNX protos, and paths to ../shared. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { onnx, type OnnxTypes } from "../src/frontend/onnx/proto.js";

/** The repository root (tests run from dist/test/...). */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, "package.json"))) d = dirname(d);
  return d;
})();

export const SHARED = join(ROOT, "..", "shared");
export const NODE_TESTS = join(SHARED, "onnx", "node");
export const LIGHT = join(SHARED, "onnx", "light");

export function vinfo(name: string, elemType = 1, dims: (number | string)[] = [2, 3]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export function modelBytes(graph: OnnxTypes.IGraphProto, opsets: OnnxTypes.IOperatorSetIdProto[] = [{ domain: "", version: 17 }]): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: opsets, graph }).finish();
}

/** y = Identity(x) over float32 [2,3]. */
export function identityModel(): Uint8Array {
  return modelBytes({
    name: "id",
    input: [vinfo("x")],
    output: [vinfo("y")],
    node: [{ opType: "Identity", input: ["x"], output: ["y"], name: "the_identity" }],
  });
}
