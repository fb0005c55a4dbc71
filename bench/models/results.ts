/** The benchmark's result document (what `--json` writes) and the ratios derived from it. */
import type { Measured } from "./child.js";
import type { Machine } from "./machine.js";
import { RUNTIMES, type RuntimeName } from "./runtimes.js";
import { geomean } from "../stats.js";

export type RuntimeResult = Omit<Measured, "outputs"> | { readonly error: string };

export interface ModelResult {
  readonly name: string;
  readonly inputs: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[] }[];
  readonly runtimes: Readonly<Record<RuntimeName, RuntimeResult>>;
}

export interface Results {
  readonly machine: Machine;
  readonly settings: { readonly runs: number; readonly threads: number; readonly timeoutS: number };
  readonly models: readonly ModelResult[];
  readonly geomean: Readonly<Record<Peer, { readonly ratio: number | null; readonly models: number }>>;
}

export const PEERS = RUNTIMES.filter((r): r is Exclude<RuntimeName, "kiln"> => r !== "kiln");
export type Peer = (typeof PEERS)[number];

export const measured = (r: RuntimeResult): r is Omit<Measured, "outputs"> => !("error" in r);

/** peer median / kiln median: above 1, kiln is faster. Null unless both ran. */
export function ratio(m: ModelResult, peer: Peer): number | null {
  const k = m.runtimes.kiln, p = m.runtimes[peer];
  return measured(k) && measured(p) ? p.medianMs / k.medianMs : null;
}

export function geomeans(models: readonly ModelResult[]): Results["geomean"] {
  return Object.fromEntries(PEERS.map((peer) => {
    const rs = models.map((m) => ratio(m, peer)).filter((r): r is number => r !== null);
    return [peer, { ratio: geomean(rs), models: rs.length }];
  })) as Results["geomean"];
}
