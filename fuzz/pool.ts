/**
 * Long-lived fuzz children with a time cap and a memory cap per job. A job over its time is a
 * `hang` (SIGKILL); a child whose resident memory passes the cap (read from /proc, since wasm
 * memories are not on the V8 heap) is killed and the job is a `crash` with reason "memory cap";
 * a child that dies any other way mid-job is a `crash` too. A dead child is replaced on the next job.
 */
import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Job } from "./child.js";

export type Outcome<R> = { readonly kind: "done"; readonly result: R } | { readonly kind: "hang" } | { readonly kind: "crash"; readonly reason: string };

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));
const WATCH_MS = 100;

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process is gone; its exit is handled elsewhere
  }
}

export class Worker {
  private child: ChildProcess | null = null;
  private stderr = "";

  constructor(private readonly memoryCap: number) {}

  private spawn(): ChildProcess {
    const heapMb = Math.max(256, Math.floor(this.memoryCap / 2 ** 20 / 2));
    const child = fork(CHILD, [], {
      execArgv: [`--max-old-space-size=${heapMb}`],
      serialization: "advanced", // typed arrays cross as they are
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000); // the last lines say why it died
    });
    return child;
  }

  run<R>(job: Job, timeoutMs: number): Promise<Outcome<R>> {
    const child = (this.child ??= this.spawn());
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: Outcome<R>, kill: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        child.off("message", onMessage);
        child.off("close", onClose);
        if (kill) {
          child.kill("SIGKILL");
          this.child = null;
        }
        resolve(o);
      };
      const onMessage = (result: R) => finish({ kind: "done", result }, false);
      const onClose = (code: number | null, signal: string | null) => {
        this.child = null;
        const why = this.stderr.split("\n").filter((l) => /FATAL|Error|error|Abort|fuzz child/.test(l)).slice(0, 2).join(" | ");
        finish({ kind: "crash", reason: `the process died (code ${code}, signal ${signal})${why ? `: ${why.slice(0, 300)}` : ""}` }, false);
      };
      const timer = setTimeout(() => finish({ kind: "hang" }, true), timeoutMs);
      const watch = setInterval(() => {
        if (child.pid !== undefined && rssBytes(child.pid) > this.memoryCap) {
          finish({ kind: "crash", reason: `memory cap (${Math.round(this.memoryCap / 2 ** 20)} MiB resident)` }, true);
        }
      }, WATCH_MS);
      child.on("message", onMessage);
      // "close", not "exit": an answer sent just before exiting can arrive after "exit".
      child.on("close", onClose);
      child.send(job);
    });
  }

  close(): void {
    this.child?.kill("SIGKILL");
    this.child = null;
  }
}
