/**
 * The ONNX backend node tests through kiln's conformance runner: every one of the 1,802 tests
 * must end passed, failed or unsupported (never error), and at least 1,150 of the 1,310 core
 * tests must pass.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runConformance } from "../src/cli/conformance.js";
import { NODE_TESTS, SHARED } from "./helpers.js";

test("ONNX node tests: no errors anywhere, at least 1150 of 1310 core tests pass", { timeout: 40 * 60_000 }, async () => {
  const summary = await runConformance(NODE_TESTS, { backend: "reference", timeout: 120, json: true });
  assert.equal(summary.total, 1802);
  const errors = summary.tests.filter((t) => t.status === "error");
  assert.deepEqual(errors.map((t) => `${t.name}: ${t.reason}`), []);
  const core = new Set(readFileSync(join(SHARED, "onnx", "core-tests.txt"), "utf8").split("\n").filter(Boolean));
  const corePassed = summary.tests.filter((t) => core.has(t.name) && t.status === "passed").length;
  console.log(`conformance: ${summary.passed} of ${summary.total} passed (${summary.failed} failed, ${summary.unsupported} unsupported); core ${corePassed} of ${core.size}`);
  assert.ok(corePassed >= 1150, `only ${corePassed} of ${core.size} core tests pass`);
});
