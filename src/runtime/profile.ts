/**
 * Profiling for the Rammer scheduler: every kernel of a program timed on this thread as one
 * task at each granularity (share 0 of `shares`), after warm-up so the optimizing tier has taken
 * over. The memory holds the program's weights; activations are zeros, which kernels take the
 * same time over.
 */
import { type Program, programMemory } from "./program.js";
import { instantiateKernels } from "./kernel-module.js";

const WARMUP = 2;
const RUNS = 3;

/**
 * Profiles by module content and granularities: compiling the same model again (another session,
 * another run of the CLI in Node) reuses them. In Node they are also kept on disk, in the OS's
 * temporary folder, since they describe this machine.
 */
const cache = new Map<string, number[][]>();
/** Bumped when what a profile measures changes, so older profiles on disk are not reused. */
const PROFILE_VERSION = 2;

/** `ms[k][i]`: one task of kernel k split into `granularities[i]` tasks, median milliseconds. */
export async function profileKernels(program: Program, kernels: number, granularities: readonly number[]): Promise<number[][]> {
  const key = `v${PROFILE_VERSION}-${contentHash(program.module)}-${kernels}-${granularities.join(".")}`;
  const known = cache.get(key) ?? (await readDisk(key, kernels, granularities.length));
  if (known) {
    cache.set(key, known);
    return known;
  }
  const ms = await measure(program, kernels, granularities);
  cache.set(key, ms);
  await writeDisk(key, ms);
  return ms;
}

async function measure(program: Program, kernels: number, granularities: readonly number[]): Promise<number[][]> {
  const memory = programMemory(program, 1);
  const fns = await instantiateKernels(program.module, memory);
  return Array.from({ length: kernels }, (_, k) => granularities.map((shares) => {
    const run = () => fns[k]!(0, shares, 0, 0);
    for (let i = 0; i < WARMUP; i++) run();
    const times = Array.from({ length: RUNS }, () => {
      const t = performance.now();
      run();
      return performance.now() - t;
    });
    return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  }));
}

/** FNV-1a over the module's bytes (or source), as hex: a cache key, not a security boundary. */
function contentHash(module: Program["module"]): string {
  const bytes = module.kind === "wasm" ? module.bytes : new TextEncoder().encode(module.source);
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ bytes[bytes.length - 1 - i]!, 0x811c9dc5) >>> 0;
  }
  return `${h1.toString(16)}${h2.toString(16)}${bytes.length.toString(16)}`;
}

const isNode = typeof process !== "undefined" && !!process.versions?.node;

async function diskPath(key: string): Promise<string> {
  const [{ tmpdir }, { join }] = await Promise.all([import("node:os"), import("node:path")]);
  return join(tmpdir(), "kiln-profiles", `${key}.json`);
}

async function readDisk(key: string, rows: number, columns: number): Promise<number[][] | undefined> {
  if (!isNode) return undefined;
  try {
    const { readFile } = await import("node:fs/promises");
    const data: unknown = JSON.parse(await readFile(await diskPath(key), "utf8"));
    const ok = Array.isArray(data) && data.length === rows && data.every((r) => Array.isArray(r) && r.length === columns && r.every((x) => typeof x === "number" && x >= 0));
    return ok ? (data as number[][]) : undefined;
  } catch {
    return undefined; // no profile yet, or an unreadable one: measure again
  }
}

async function writeDisk(key: string, ms: number[][]): Promise<void> {
  if (!isNode) return;
  try {
    const [{ mkdir, writeFile }, { dirname }] = await Promise.all([import("node:fs/promises"), import("node:path")]);
    const path = await diskPath(key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(ms));
  } catch {
    // A read-only temporary folder only costs the next compile a new profile.
  }
}
