/** `kiln zoo`: list the built-in models; `kiln zoo export NAME out.onnx`: write one as ONNX for other runtimes. */
import { writeFile } from "node:fs/promises";
import { exportOnnx } from "../frontend/onnx/export.js";
import { InputError } from "../ir/errors.js";
import { ZOO, isZooName } from "../zoo/index.js";

export function listZoo(): string {
  const width = Math.max(...Object.keys(ZOO).map((n) => n.length));
  return Object.entries(ZOO).map(([name, e]) => `${name.padEnd(width)}  ${e.description}`).join("\n");
}

export async function exportZoo(name: string, path: string): Promise<void> {
  if (!isZooName(name)) throw new InputError(`no zoo model named "${name}" (kiln zoo lists them)`);
  await writeFile(path, exportOnnx(ZOO[name].build()));
}
