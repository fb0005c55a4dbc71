/** What a result was measured on and with: the machine (node:os), the versions and the date. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { arch, availableParallelism, cpus, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../test/helpers.js";

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly date: string;
  readonly versions: Readonly<Record<string, string>>;
}

const packageVersion = (dir: string) => (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
const dependency = (name: string) => packageVersion(join(ROOT, "node_modules", name));

/** kiln's package version and, in a git checkout, its commit. */
function kilnVersion(): string {
  const v = packageVersion(ROOT);
  try {
    return `${v} (${execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()})`;
  } catch {
    return v;
  }
}

export function machine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()} ${arch()}`,
    date: new Date().toISOString(),
    versions: {
      node: process.version,
      kiln: kilnVersion(),
      "onnxruntime-node": dependency("onnxruntime-node"),
      "onnxruntime-web": dependency("onnxruntime-web"),
      "tfjs-core": dependency("@tensorflow/tfjs-core"),
      "tfjs-backend-wasm": dependency("@tensorflow/tfjs-backend-wasm"),
    },
  };
}
