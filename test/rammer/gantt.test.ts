/** The schedule summary and Gantt chart agree with the rProgram they draw. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ganttSvg, summarize } from "../../src/rammer/gantt.js";
import { planLaunch } from "../../src/rammer/launch.js";
import { granularities, wavefront } from "../../src/rammer/policies.js";

describe("schedule chart", () => {
  it("draws one bar per rTask and one arrow per wait, and sums busy time per vEU", () => {
    // Kernels 0 and 1 write disjoint buffers that kernel 2 reads.
    const access = [
      { reads: [{ offset: 0, bytes: 64 }], writes: [{ offset: 64, bytes: 64 }] },
      { reads: [{ offset: 0, bytes: 64 }], writes: [{ offset: 128, bytes: 64 }] },
      { reads: [{ offset: 64, bytes: 128 }], writes: [{ offset: 192, bytes: 64 }] },
    ];
    const launch = planLaunch([0, 1, 2], access, (k, s) => (k + 1) / s, granularities(2), 2, wavefront);
    assert.deepEqual(launch.ops.map((o) => o.deps), [[], [], [0, 1]]);
    const { summary } = summarize([launch], 2);
    const svg = ganttSvg([launch], 2, "test <model>");
    assert.equal((svg.match(/<rect /g) ?? []).length, summary.tasks);
    assert.equal((svg.match(/marker-end/g) ?? []).length, summary.waits);
    assert.ok(svg.includes("test &lt;model&gt;"), "the title is escaped");
    assert.equal(summary.wakeUps, 1);
    assert.ok(summary.busyFraction.every((b) => b > 0 && b <= 1));
  });
});
