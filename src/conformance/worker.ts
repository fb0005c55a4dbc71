/** Worker entry: runs one conformance test per message, so a hang or crash never takes down the run. */
import { parentPort } from "node:worker_threads";
import type { Backend, ExecutorKind } from "../api.js";
import { runTestCase } from "./testcase.js";

export interface TestJob {
  readonly dir: string;
  readonly name: string;
  readonly backend: Backend;
  readonly executor?: ExecutorKind;
}

parentPort!.on("message", (job: TestJob) => {
  void runTestCase(job.dir, job.name, job.backend, job.executor).then((r) => parentPort!.postMessage(r));
});
