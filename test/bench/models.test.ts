/**
 * The model benchmark (npm run bench) end to end on light_squeezenet: the JSON's shape, the
 * report files, kiln's numerics against onnxruntime-node, and a runtime over its time limit
 * reported as an error while the harness goes on.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../helpers.js";

const MAIN = join(ROOT, "dist", "bench", "models", "main.js");
const RUNTIMES = ["kiln", "ort-node", "ort-web", "tfjs"];

interface Result { machine: Record<string, unknown> & { versions: Record<string, string> }; models: { name: string; runtimes: Record<string, Record<string, unknown>> }[] }

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function bench(...args: string[]): Promise<{ dir: string; stdout: string; result: Result }> {
  const dir = mkdtempSync(join(tmpdir(), "kiln-bench-test-"));
  dirs.push(dir);
  const json = join(dir, "result.json");
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, "--models", "^light_squeezenet$", "--out", dir, "--json", json, ...args], { cwd: ROOT });
  return { dir, stdout, result: JSON.parse(readFileSync(json, "utf8")) as Result };
}

describe("npm run bench", { timeout: 300_000 }, () => {
  it("times light_squeezenet on every runtime, checks kiln's numerics and writes the report", async () => {
    const { dir, stdout, result } = await bench("--runs", "2");
    assert.equal(typeof result.machine["cpu"], "string");
    assert.ok((result.machine["cores"] as number) >= 1);
    for (const v of ["node", "kiln", "onnxruntime-node", "onnxruntime-web", "tfjs-core"]) assert.ok(result.machine.versions[v], v);
    assert.deepEqual(result.models.map((m) => m.name), ["light_squeezenet"]);
    const runtimes = result.models[0]!.runtimes;
    assert.deepEqual(Object.keys(runtimes).sort(), [...RUNTIMES].sort());
    for (const name of RUNTIMES) {
      const r = runtimes[name]!;
      assert.equal(r["error"], undefined, `${name}: ${String(r["error"])}`);
      for (const k of ["loadMs", "firstRunMs", "medianMs", "p90Ms", "peakRssMb"]) assert.ok((r[k] as number) > 0, `${name} ${k}`);
      assert.ok((r["p90Ms"] as number) >= (r["medianMs"] as number), name);
      assert.ok((r["warmupRuns"] as number) >= 20, name);
    }
    assert.equal((runtimes["kiln"]!["numerics"] as { ok: boolean }).ok, true);
    assert.match(stdout, /light_squeezenet .* ok /);
    assert.match(stdout, /geometric mean of kiln's ratio vs ort-web: \d+\.\d\dx over 1 models/);
    const md = readFileSync(join(dir, "latest.md"), "utf8");
    assert.match(md, /\| light_squeezenet \|/);
    assert.ok(md.includes(result.machine["cpu"] as string));
    const svg = readFileSync(join(dir, "latest.svg"), "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, />light_squeezenet</);
  });

  it("reports children over the time limit as errors and still writes the report", async () => {
    // Warm-up alone takes a second, so every child is killed.
    const { dir, result } = await bench("--runs", "1", "--timeout", "0.5");
    const runtimes = result.models[0]!.runtimes;
    for (const name of ["kiln", "ort-node", "ort-web"]) assert.deepEqual(runtimes[name], { error: "time limit of 0.5 s exceeded" });
    assert.match(String(runtimes["tfjs"]!["error"]), /^not verified/);
    assert.match(readFileSync(join(dir, "latest.md"), "utf8"), /time limit of 0\.5 s exceeded/);
  });
});
