/**
 * Runs a Job in a forked child (child.ts) under a time limit. A child that crashes, exits
 * without replying or runs over its limit (it is killed) gives an error reply, so one bad
 * runtime never stops or hangs the harness.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Job, Reply } from "./child.js";

const CHILD = fileURLToPath(new URL("./child.js", import.meta.url));
/** How much of a child's stderr to keep for the message when it dies. */
const STDERR_TAIL = 2000;

export function runJob(job: Job, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    // Structured clone ("advanced") carries typed arrays, bigints included, over IPC.
    const child = fork(CHILD, [], { serialization: "advanced", stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    let reply: Reply | undefined;
    const timer = setTimeout(() => {
      reply ??= { error: `time limit of ${timeoutMs / 1000} s exceeded` };
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stderr!.on("data", (d: Buffer) => { stderr = (stderr + d.toString()).slice(-STDERR_TAIL); });
    child.on("message", (m: Reply) => { reply ??= m; });
    child.on("error", (e) => { reply ??= { error: `child process: ${e.message}` }; });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const last = stderr.trim().split("\n").slice(-3).join(" | ");
      resolve(reply ?? { error: `child exited (${signal ?? `code ${code}`}) without a result${last ? `: ${last}` : ""}` });
    });
    child.send(job);
  });
}
