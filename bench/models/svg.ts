/**
 * bench/results/latest.svg: kiln's ratio against each peer per model as horizontal bars from
 * 1.0 on a log scale (right of the line at 1: kiln is faster), with the machine, versions and date.
 */
import { PEERS, type Results, ratio } from "./results.js";

const COLORS: Record<(typeof PEERS)[number], string> = { "ort-node": "#3b6fb6", "ort-web": "#e08a2c", tfjs: "#4a9a4a" };
const BAR = 7, ROW = PEERS.length * BAR + 8, LEFT = 170, PLOT = 640, TOP = 92;

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);

export function svgChart(r: Results): string {
  const ratios = r.models.flatMap((m) => PEERS.map((p) => ratio(m, p))).filter((x): x is number => x !== null);
  // Whole decades around every ratio, at least 0.1x to 10x.
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(...ratios, 1))));
  const hi = Math.max(1, Math.ceil(Math.log10(Math.max(...ratios, 1))));
  const x = (v: number) => Math.round((LEFT + ((Math.log10(v) - lo) / (hi - lo)) * PLOT) * 10) / 10;
  const height = TOP + r.models.length * ROW + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LEFT + PLOT + 60}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">kiln against its peers: peer median latency / kiln median latency</text>`,
    `<text x="10" y="38">${esc(`${r.machine.cpu}, ${r.machine.cores} cores; ${r.settings.threads} threads (tfjs 1); median of ${r.settings.runs} runs after warm-up; ${r.machine.date}`)}</text>`,
    `<text x="10" y="54">${esc(Object.entries(r.machine.versions).map(([k, v]) => `${k} ${v}`).join(", "))}</text>`,
    ...PEERS.map((p, i) => `<rect x="${10 + i * 120}" y="64" width="10" height="10" fill="${COLORS[p]}"/><text x="${24 + i * 120}" y="73">vs ${p}</text>`),
    `<text x="${10 + PEERS.length * 120}" y="73" fill="#555">log scale; right of 1: kiln faster; no bar: one of the two did not run</text>`,
  ];
  const bottom = TOP + r.models.length * ROW;
  for (let d = lo; d <= hi; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${x(v)}" y1="${TOP - 4}" x2="${x(v)}" y2="${bottom}" stroke="${d === 0 ? "#000" : "#ccc"}" stroke-width="${d === 0 ? 1.5 : 1}"/>`);
    out.push(`<text x="${x(v)}" y="${bottom + 14}" text-anchor="middle">${v >= 1 ? v : v.toFixed(-d)}x</text>`);
  }
  r.models.forEach((m, i) => {
    const y = TOP + i * ROW;
    out.push(`<text x="${LEFT - 8}" y="${y + ROW / 2 + 3}" text-anchor="end">${esc(m.name)}</text>`);
    PEERS.forEach((p, j) => {
      const v = ratio(m, p);
      if (v === null) return;
      const [a, b] = [x(1), x(v)].sort((s, t) => s - t) as [number, number];
      const by = y + 4 + j * BAR;
      out.push(`<rect x="${a}" y="${by}" width="${Math.max(b - a, 1).toFixed(1)}" height="${BAR - 1}" fill="${COLORS[p]}"><title>${esc(`${m.name} vs ${p}: ${v.toFixed(2)}x`)}</title></rect>`);
      out.push(`<text x="${(v >= 1 ? b + 3 : a - 3).toFixed(1)}" y="${by + BAR - 1}" font-size="8" text-anchor="${v >= 1 ? "start" : "end"}">${v.toFixed(2)}</text>`);
    });
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
