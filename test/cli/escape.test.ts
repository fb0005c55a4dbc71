/**
 * Names in a model are arbitrary text: `kiln inspect`, `kiln run` and kiln's error messages print
 * them escaped, so an escape sequence, a newline or a bidi override in a model never reaches the
 * terminal raw.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { printable, quoted } from "../../src/ir/escape.js";
import { modelBytes, ROOT, vinfo } from "../helpers.js";

const exec = promisify(execFile);
const KILN = join(ROOT, "dist", "src", "cli", "main.js");
const EVIL = "\u001b[2J\u001b]0;owned\u0007\nkiln: fake line\u202etxt.exe\u009b31m";
/** What must not reach the terminal: ESC, BEL, a C1 CSI, a bidi override, and a line of the attacker's. */
const RAW = /[\u001b\u0007\u009b\u202e]|^kiln: fake line/m;

function evilModel(): string {
  const path = join(mkdtempSync(join(tmpdir(), "kiln-escape-")), "evil.onnx");
  writeFileSync(path, modelBytes({
    name: EVIL, input: [vinfo(`x${EVIL}`, 1, [2, 3])], output: [vinfo(`y${EVIL}`, 1, [2, 3])],
    node: [{ opType: "Relu", name: EVIL, input: [`x${EVIL}`], output: [`r${EVIL}`] }, { opType: "Neg", input: [`r${EVIL}`], output: [`y${EVIL}`] }],
  }));
  return path;
}

test("printable and quoted escape every control and format character, and quoted round-trips through JSON", () => {
  assert.equal(printable("a\u001b[1mb\nc\u202ed"), "a\\u001b[1mb\\u000ac\\u202ed");
  assert.equal(printable("plain name/with.dots-ok é"), "plain name/with.dots-ok é");
  assert.doesNotMatch(quoted(EVIL), RAW);
  assert.equal(JSON.parse(quoted(EVIL)), EVIL);
});

test("kiln inspect and kiln run print a model's names escaped", { timeout: 60_000 }, async () => {
  const model = evilModel();
  const inspect = await exec(process.execPath, [KILN, "inspect", model]);
  assert.doesNotMatch(inspect.stdout + inspect.stderr, RAW);
  assert.match(inspect.stdout, /\\u001b\[2J/, "the names are shown, escaped");
  const run = await exec(process.execPath, [KILN, "run", model, "--threads", "1"]);
  assert.doesNotMatch(run.stdout + run.stderr, RAW);
  assert.match(run.stdout, /y\\u001b\[2J/);
});

test("kiln's error messages print a model's names escaped", { timeout: 60_000 }, async () => {
  const path = join(mkdtempSync(join(tmpdir(), "kiln-escape-")), "bad.onnx");
  writeFileSync(path, modelBytes({
    name: "g", input: [vinfo("x", 1, [2, 3])], output: [vinfo("y", 1, [2, 3])],
    node: [{ opType: "Relu", input: [`missing${EVIL}`], output: ["y"] }],
  }));
  const failed = await exec(process.execPath, [KILN, "run", path]).then(() => null, (e: { stderr: string }) => e);
  assert.ok(failed, "the model is rejected");
  assert.match(failed.stderr, /ModelError/);
  assert.doesNotMatch(failed.stderr, RAW);
});
