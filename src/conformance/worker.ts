/** Worker entry: runs one conformance test per message, so a hang or crash never takes down the run. */
import { parentPort } from "node:worker_threads";
import type { Backend } from "../api.js";
import { runTestCase } from "./testcase.js";

export interface TestJob {
  readonly dir: string;
  readonly name: string;
  readonly backend: Backend;
}

parentPort!.on("message", (job: TestJob) => {
  void runTestCase(job.dir, job.name, job.backend).then((r) => parentPort!.postMessage(r));
});
