/** The schedule summary and Gantt chart agree with the rProgram they draw, profiled and measured. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferenceSession } from "../../src/api.js";
import { ganttSvg, summarize } from "../../src/rammer/gantt.js";
import { planLaunch } from "../../src/rammer/launch.js";
import { granularities, wavefront } from "../../src/rammer/policies.js";
import { measuredTimeline } from "../../src/rammer/trace.js";
import { SMALL, feedsFor } from "../zoo/cases.js";

// Kernels 0 and 1 write disjoint buffers that kernel 2 reads.
const access = [
  { reads: [{ offset: 0, bytes: 64 }], writes: [{ offset: 64, bytes: 64 }] },
  { reads: [{ offset: 0, bytes: 64 }], writes: [{ offset: 128, bytes: 64 }] },
  { reads: [{ offset: 64, bytes: 128 }], writes: [{ offset: 192, bytes: 64 }] },
];
const launch = planLaunch([0, 1, 2], access, (k, s) => (k + 1) / s, granularities(2), 2, wavefront);

describe("schedule chart", () => {
  it("draws one bar per rTask and one arrow per wait, and sums busy time per vEU", () => {
    assert.deepEqual(launch.ops.map((o) => o.deps), [[], [], [0, 1]]);
    const summary = summarize([launch], 2);
    const svg = ganttSvg([launch], 2, "test <model>");
    assert.equal((svg.match(/<rect /g) ?? []).length, summary.tasks);
    assert.equal((svg.match(/marker-end/g) ?? []).length, summary.waits);
    assert.ok(svg.includes("test &lt;model&gt;"), "the title is escaped");
    assert.equal(summary.wakeUps, 1);
    assert.equal(summary.measured, undefined);
    assert.ok(summary.profiled.busyFraction.every((b) => b > 0 && b <= 1));
  });

  it("reads a trace as the measured timeline: tasks between stamps, waits blocked when their task ended later", () => {
    // A hand-made trace: every entry takes 1 ms, vEU 1 starts 0.5 ms after vEU 0.
    const stamps = launch.program.lists.map((list, v) => Float64Array.from({ length: list.length + 1 }, (_, i) => 100 + v * 0.5 + i));
    const t = measuredTimeline(launch.program, stamps);
    assert.equal(t.tasks.length, launch.program.lists.flat().filter((e) => e.kind === "task").length);
    assert.ok(t.tasks.every((x) => Math.abs(x.end - x.start - 1) < 1e-9));
    const lengths = launch.program.lists.map((l, v) => l.length + v * 0.5);
    assert.equal(t.makespan, Math.max(...lengths));
    for (const w of t.waits) assert.ok(t.tasks.some((x) => x.veu === w.on && x.end === w.until));
    assert.equal(t.blocked, t.waits.filter((w) => w.until > w.at).length);
    assert.throws(() => measuredTimeline(launch.program, stamps.slice(0, 1)), /does not match/);
    const svg = ganttSvg([launch], 2, "m", [stamps]);
    assert.equal((svg.match(/<rect /g) ?? []).length, 2 * summarize([launch], 2).tasks, "a profiled and a measured bar per rTask");
  });

  it("traces a real inference: every vEU's clock runs forward, outputs as untraced", async () => {
    const c = SMALL["lstm-tc"]!, model = c.build(), feeds = feedsFor(model);
    const [plain, traced] = [
      await InferenceSession.create(model, { threads: 2, executor: "rammer" }),
      await InferenceSession.create(model, { threads: 2, executor: "rammer", traceSchedule: true }),
    ];
    try {
      const [a, b] = [await plain.run(feeds), await traced.run(feeds)];
      for (const [name, t] of Object.entries(a)) assert.deepEqual(b[name]!.numbers(), t.numbers(), name);
      const compiled = await traced.compiledFor(new Map(Object.entries(feeds)));
      assert.ok(compiled.kind === "compiled" && compiled.rammer);
      const trace = compiled.executor.lastTrace;
      assert.equal(trace.length, compiled.rammer.launches.length);
      trace.forEach((launchTrace, li) => launchTrace.forEach((stamps, v) => {
        assert.equal(stamps.length, compiled.rammer!.launches[li]!.program.lists[v]!.length + 1);
        for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! >= stamps[i - 1]!, `launch ${li} vEU ${v}: stamp ${i} goes back`);
      }));
      const s = summarize(compiled.rammer.launches, 2, trace);
      assert.ok(s.measured && s.measured.makespanMs > 0 && s.overProfile!.length > 0);
      const untraced = await plain.compiledFor(new Map(Object.entries(feeds)));
      assert.ok(untraced.kind === "compiled");
      assert.equal(untraced.executor.lastTrace.length, 0);
    } finally {
      await Promise.all([plain.release(), traced.release()]);
    }
  });
});
