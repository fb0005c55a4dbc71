/**
 * The rProgram as a Gantt chart (SVG): a row per vEU, each launch after the previous one, rTasks
 * as bars (coloured by rOperator), waits as arrows from the task waited for to the point where
 * the waiting vEU goes on. The top panel plays the program out under the profiled costs; with a
 * trace of a real inference (trace.ts), a second panel below shows what it measured, on the same
 * time scale.
 */
import type { LaunchTrace } from "../runtime/executor.js";
import type { LaunchPlan } from "./launch.js";
import { type Timeline, simulate } from "./policies.js";
import { measuredTimeline } from "./trace.js";

const ROW = 28, LEFT = 90, WIDTH = 1200, TOP = 30, GAP = 24, SHOWN_KERNELS = 5;

export interface TimelineSummary {
  /** Time of one inference. */
  readonly makespanMs: number;
  /** Each vEU's busy time over the makespan. */
  readonly busyFraction: number[];
  /** Waits that blocked: under the profiled costs, or measured. */
  readonly blockedWaits: number;
}

export interface ScheduleSummary {
  readonly launches: number;
  readonly tasks: number;
  readonly waits: number;
  /** Wake-ups of the worker threads per inference: one per worker per launch. */
  readonly wakeUps: number;
  readonly profiled: TimelineSummary;
  /** From a traced inference, when one was given. */
  readonly measured?: TimelineSummary;
  /** The kernels whose measured time exceeds their profiled time the most (per inference, all their tasks). */
  readonly overProfile?: readonly { readonly kernel: number; readonly profiledMs: number; readonly measuredMs: number }[];
}

interface Panels { readonly profiled: Timeline[]; readonly measured?: Timeline[] }

function panels(launches: readonly LaunchPlan[], traces?: readonly LaunchTrace[]): Panels {
  const profiled = launches.map((l) => simulate(l.program, l.ops));
  return traces ? { profiled, measured: launches.map((l, i) => measuredTimeline(l.program, traces[i]!)) } : { profiled };
}

function summarizeTimelines(timelines: readonly Timeline[], veus: number): TimelineSummary {
  const makespan = timelines.reduce((t, l) => t + l.makespan, 0);
  const busy = Array.from({ length: veus }, (_, v) => timelines.reduce((t, l) => t + l.busy[v]!, 0));
  return {
    makespanMs: makespan,
    busyFraction: busy.map((b) => (makespan > 0 ? b / makespan : 0)),
    blockedWaits: timelines.reduce((n, t) => n + t.blocked, 0),
  };
}

/** Time per kernel, all its tasks over all launches. */
function kernelTimes(launches: readonly LaunchPlan[], timelines: readonly Timeline[]): Map<number, number> {
  const ms = new Map<number, number>();
  timelines.forEach((t, li) => t.tasks.forEach((x) => {
    const k = launches[li]!.kernels[x.task.op]!;
    ms.set(k, (ms.get(k) ?? 0) + x.end - x.start);
  }));
  return ms;
}

/** `traces`: the executor's lastTrace of a traced inference (one per launch), for the measured half. */
export function summarize(launches: readonly LaunchPlan[], veus: number, traces?: readonly LaunchTrace[]): ScheduleSummary {
  return summaryOf(launches, veus, panels(launches, traces));
}

function summaryOf(launches: readonly LaunchPlan[], veus: number, p: Panels): ScheduleSummary {
  const base = {
    launches: launches.length,
    tasks: p.profiled.reduce((n, t) => n + t.tasks.length, 0),
    waits: launches.reduce((n, l) => n + l.program.waits, 0),
    wakeUps: launches.length * (veus - 1),
    profiled: summarizeTimelines(p.profiled, veus),
  };
  if (!p.measured) return base;
  const profiledMs = kernelTimes(launches, p.profiled), measuredMs = kernelTimes(launches, p.measured);
  const overProfile = [...measuredMs].map(([kernel, m]) => ({ kernel, profiledMs: profiledMs.get(kernel) ?? 0, measuredMs: m }))
    .sort((a, b) => b.measuredMs - b.profiledMs - (a.measuredMs - a.profiledMs)).slice(0, SHOWN_KERNELS);
  return { ...base, measured: summarizeTimelines(p.measured, veus), overProfile };
}

export function ganttSvg(launches: readonly LaunchPlan[], veus: number, title: string, traces?: readonly LaunchTrace[]): string {
  const p = panels(launches, traces);
  const summary = summaryOf(launches, veus, p);
  const span = Math.max(summary.profiled.makespanMs, summary.measured?.makespanMs ?? 0, 1e-9);
  const scale = (WIDTH - LEFT - 10) / span;
  const drawn: [string, Timeline[], TimelineSummary][] = [["profiled", p.profiled, summary.profiled]];
  if (p.measured && summary.measured) drawn.push(["measured", p.measured, summary.measured]);
  const parts: string[] = [];
  drawn.forEach(([label, timelines, s], pi) => {
    const top = TOP + pi * (veus * ROW + GAP);
    const y = (v: number) => top + v * ROW;
    for (let v = 0; v < veus; v++) parts.push(`<text x="8" y="${y(v) + ROW / 2 + 4}" font-size="12">vEU ${v} ${label}</text>`);
    parts.push(`<text x="${LEFT}" y="${top + veus * ROW + 14}" font-size="11">${label}: ${s.makespanMs.toFixed(2)} ms, ${s.blockedWaits} waits blocked, busy ${s.busyFraction.map((b) => `${(100 * b).toFixed(0)}%`).join(" / ")}</text>`);
    let offset = 0;
    timelines.forEach((t, li) => {
      const x = (ms: number) => LEFT + (offset + ms) * scale;
      for (const task of t.tasks) {
        const op = launches[li]!.kernels[task.task.op]!;
        const w = Math.max(0.5, (task.end - task.start) * scale);
        parts.push(`<rect x="${x(task.start).toFixed(2)}" y="${y(task.veu) + 3}" width="${w.toFixed(2)}" height="${ROW - 6}" fill="hsl(${(op * 47) % 360},60%,60%)"><title>kernel ${op}, task ${task.task.share + 1}/${task.task.shares}: ${(task.end - task.start).toFixed(3)} ms ${label}</title></rect>`);
      }
      for (const w of t.waits) {
        parts.push(`<line x1="${x(w.until).toFixed(2)}" y1="${y(w.on) + ROW / 2}" x2="${x(Math.max(w.at, w.until)).toFixed(2)}" y2="${y(w.veu) + ROW / 2}" stroke="#333" stroke-width="0.6" marker-end="url(#arrow)"/>`);
      }
      offset += t.makespan;
      if (li < timelines.length - 1) parts.push(`<line x1="${x(0).toFixed(2)}" y1="${top - 4}" x2="${x(0).toFixed(2)}" y2="${top + veus * ROW}" stroke="#999" stroke-dasharray="3,3"/>`);
    });
  });
  const height = TOP + drawn.length * (veus * ROW + GAP) + 16;
  const caption = `${summary.tasks} rTasks, ${summary.waits} waits, ${summary.launches} launch(es), ${summary.wakeUps} wake-ups per inference`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">`,
    `<defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#333"/></marker></defs>`,
    `<text x="8" y="18" font-size="13">${escapeXml(title)}: ${escapeXml(caption)}</text>`,
    ...parts,
    `<text x="${LEFT}" y="${height - 4}" font-size="11">0 ms</text><text x="${WIDTH - 80}" y="${height - 4}" font-size="11">${span.toFixed(2)} ms</text>`,
    "</svg>",
  ].join("\n");
}

const escapeXml = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "\"": "&quot;" })[c]!);
