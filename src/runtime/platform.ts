/**
 * The little that differs between Node's worker_threads and browser Workers: starting a
 * worker from a module URL, and a worker's channel to its parent. Everything else in the
 * runtime is shared code.
 */
export interface WorkerHandle {
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
  onError(handler: (error: Error) => void): void;
  /** The worker's thread ended (Node; a browser worker only ends when terminated). */
  onExit(handler: (code: number) => void): void;
  terminate(): Promise<void>;
  /** Let the process exit while this worker runs (after its listeners are attached, which re-reference it). */
  unref(): void;
}

const isNode = typeof process !== "undefined" && !!process.versions?.node;

export async function startWorker(url: URL): Promise<WorkerHandle> {
  if (isNode) {
    const { Worker } = await import("node:worker_threads");
    const w = new Worker(url);
    return {
      post: (m) => w.postMessage(m),
      onMessage: (h) => w.on("message", h),
      onError: (h) => w.on("error", h),
      onExit: (h) => w.on("exit", h),
      terminate: async () => { await w.terminate(); },
      unref: () => w.unref(),
    };
  }
  const w = new Worker(url, { type: "module" });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (h) => w.addEventListener("message", (e) => h(e.data)),
    onError: (h) => w.addEventListener("error", (e) => h(new Error(e.message))),
    onExit: () => undefined,
    terminate: async () => w.terminate(),
    unref: () => undefined,
  };
}

/**
 * Run `fn` once when the process has nothing else to do (Node's beforeExit): a worker blocked in
 * Atomics.wait would otherwise hold up the exit even when unreferenced. Browsers end workers with the page.
 */
export function whenIdle(fn: () => void): void {
  if (isNode) process.once("beforeExit", fn);
}

/** In a worker: the channel to the thread that started it. */
export async function parentChannel(): Promise<{ post(m: unknown): void; onMessage(h: (m: unknown) => void): void }> {
  if (isNode) {
    const { parentPort } = await import("node:worker_threads");
    return { post: (m) => parentPort!.postMessage(m), onMessage: (h) => parentPort!.on("message", h) };
  }
  const scope = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: string, h: (e: { data: unknown }) => void): void };
  return { post: (m) => scope.postMessage(m), onMessage: (h) => scope.addEventListener("message", (e) => h(e.data)) };
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
export function canBlock(): boolean {
  if (isNode) return true;
  return typeof (globalThis as { document?: unknown }).document === "undefined";
}

/** Let the event loop run its pending tasks (timers, a worker's 'exit' event), then resume. */
export function yieldToEventLoop(): Promise<void> {
  if (isNode) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}
