/**
 * Typed errors. `KilnError` is the user's problem (bad model, bad input, unsupported
 * feature); `InternalError` is a compiler bug. Messages name the op, node and value involved.
 */
export class KilnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The model is malformed: undecodable bytes, dangling references, cycles, bad attributes. */
export class ModelError extends KilnError {}

/** A feature kiln does not implement: an op, a dtype, an opset, a value kind. */
export class UnsupportedError extends KilnError {
  constructor(
    message: string,
    /** What is missing, e.g. `op Foo`, `dtype string`; used to group conformance reports. */
    readonly feature: string,
  ) {
    super(message);
  }
}

/** The caller's inputs do not match the model: wrong names, shapes or dtypes. */
export class InputError extends KilnError {}

/** A size exceeds a configured limit (tensor bytes, element count). */
export class LimitError extends KilnError {}

/** An op was given values it cannot compute on (inconsistent shapes, out-of-range indices). */
export class EvalError extends KilnError {}

/**
 * A compiled kernel failed while running (a wasm trap such as an integer division by zero) or a
 * worker thread died; the session's workers are unusable afterwards and every later run rejects.
 */
export class KernelError extends KilnError {}

/** The session was used after `release()`. */
export class SessionError extends KilnError {}

/** A broken compiler invariant. Always a bug in kiln. */
export class InternalError extends Error {
  constructor(message: string) {
    super(`internal: ${message}`);
    this.name = "InternalError";
  }
}
