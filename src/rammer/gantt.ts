/**
 * The rProgram as a Gantt chart (SVG): a row per vEU, each launch after the previous one, rTasks
 * as bars by their profiled time (coloured by rOperator), waits as arrows from the task waited
 * for to the point where the waiting vEU goes on.
 */
import type { LaunchPlan } from "./launch.js";
import { type Timeline, simulate } from "./policies.js";

const ROW = 28, LEFT = 60, WIDTH = 1200, TOP = 30;

export interface ScheduleSummary {
  readonly launches: number;
  readonly tasks: number;
  readonly waits: number;
  /** Waits that would block under the profiled costs. */
  readonly blockedWaits: number;
  /** Wake-ups of the worker threads per inference: one per worker per launch. */
  readonly wakeUps: number;
  /** Profiled time of one inference. */
  readonly makespanMs: number;
  /** Each vEU's busy time over the makespan. */
  readonly busyFraction: number[];
}

export function summarize(launches: readonly LaunchPlan[], veus: number): { summary: ScheduleSummary; timelines: Timeline[] } {
  const timelines = launches.map((l) => simulate(l.program, l.ops));
  const makespan = timelines.reduce((t, l) => t + l.makespan, 0);
  const busy = Array.from({ length: veus }, (_, v) => timelines.reduce((t, l) => t + l.busy[v]!, 0));
  return {
    timelines,
    summary: {
      launches: launches.length,
      tasks: timelines.reduce((n, t) => n + t.tasks.length, 0),
      waits: launches.reduce((n, l) => n + l.program.waits, 0),
      blockedWaits: timelines.reduce((n, t) => n + t.blocked, 0),
      wakeUps: launches.length * (veus - 1),
      makespanMs: makespan,
      busyFraction: busy.map((b) => (makespan > 0 ? b / makespan : 0)),
    },
  };
}

export function ganttSvg(launches: readonly LaunchPlan[], veus: number, title: string): string {
  const { summary, timelines } = summarize(launches, veus);
  const scale = (WIDTH - LEFT - 10) / Math.max(summary.makespanMs, 1e-9);
  const height = TOP + veus * ROW + 40;
  const parts: string[] = [];
  let offset = 0;
  timelines.forEach((t, li) => {
    const x = (ms: number) => LEFT + (offset + ms) * scale;
    const y = (v: number) => TOP + v * ROW;
    for (const task of t.tasks) {
      const op = launches[li]!.kernels[task.task.op]!;
      const w = Math.max(0.5, (task.end - task.start) * scale);
      parts.push(`<rect x="${x(task.start).toFixed(2)}" y="${y(task.veu) + 3}" width="${w.toFixed(2)}" height="${ROW - 6}" fill="hsl(${(op * 47) % 360},60%,60%)"><title>kernel ${op}, task ${task.task.share + 1}/${task.task.shares}: ${(task.end - task.start).toFixed(3)} ms</title></rect>`);
    }
    for (const w of t.waits) {
      parts.push(`<line x1="${x(w.until).toFixed(2)}" y1="${y(w.on) + ROW / 2}" x2="${x(Math.max(w.at, w.until)).toFixed(2)}" y2="${y(w.veu) + ROW / 2}" stroke="#333" stroke-width="0.6" marker-end="url(#arrow)"/>`);
    }
    offset += t.makespan;
    if (li < timelines.length - 1) parts.push(`<line x1="${x(0).toFixed(2)}" y1="${TOP - 4}" x2="${x(0).toFixed(2)}" y2="${TOP + veus * ROW}" stroke="#999" stroke-dasharray="3,3"/>`);
  });
  const rows = Array.from({ length: veus }, (_, v) => `<text x="8" y="${TOP + v * ROW + ROW / 2 + 4}" font-size="12">vEU ${v}</text>`);
  const caption = `${summary.tasks} rTasks, ${summary.waits} waits (${summary.blockedWaits} block by profile), ${summary.launches} launch(es), ${summary.wakeUps} wake-ups per inference, ` +
    `profiled ${summary.makespanMs.toFixed(2)} ms; busy ${summary.busyFraction.map((b) => `${(100 * b).toFixed(0)}%`).join(" / ")}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">`,
    `<defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#333"/></marker></defs>`,
    `<text x="8" y="18" font-size="13">${escapeXml(title)}: ${escapeXml(caption)}</text>`,
    ...rows, ...parts,
    `<text x="${LEFT}" y="${height - 10}" font-size="11">0 ms</text><text x="${WIDTH - 80}" y="${height - 10}" font-size="11">${summary.makespanMs.toFixed(2)} ms</text>`,
    "</svg>",
  ].join("\n");
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;" })[c]!);
