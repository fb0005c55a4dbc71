/**
 * Every node is checked against its op's ONNX signature at the model's opset before any rule or
 * kernel sees it: input and output counts, required inputs present, and each input's dtype
 * allowed by its type constraint and equal to the others bound to the same type parameter.
 * Kernels and inference rules may then take those facts for granted (an Add of float32 and
 * uint8, or a LayerNormalization with four outputs, is a ModelError here, not a wrong result).
 */
import type { DType } from "../ir/dtype.js";
import { ModelError } from "../ir/errors.js";
import { describeNode, type Node } from "../ir/graph.js";
import type { TensorType } from "../ir/types.js";
import { ONNX_SIGNATURES } from "./signatures.js";

/** One opset version of an op's signature (see signatures.ts for the notation). */
export interface OpSignature {
  readonly since: number;
  readonly deprecated?: boolean;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly arity: readonly [number, number, number, number];
  readonly types: Readonly<Record<string, readonly DType[]>>;
}

/** The signature in force at `opset`; a deprecated version keeps the one before it. Undefined for kiln's own ops. */
export function signatureAt(op: string, opset: number): OpSignature | null | undefined {
  const versions = ONNX_SIGNATURES[op];
  if (versions === undefined) return undefined;
  let found: OpSignature | null = null;
  for (const v of versions) if (v.since <= opset && !v.deprecated) found = v;
  return found;
}

const present = (names: readonly string[]) => {
  let n = names.length;
  while (n > 0 && names[n - 1] === "") n--;
  return n;
};

function formalAt(formals: readonly string[], i: number): { type: string; option: string } | undefined {
  const last = formals[formals.length - 1];
  const f = i < formals.length ? formals[i] : last !== undefined && /\.\.\.$|\*$/.test(last) ? last : undefined;
  if (f === undefined) return undefined;
  const m = /^(.*?)(\?|\.\.\.|\*)?$/.exec(f)!;
  return { type: m[1]!, option: m[2] ?? "" };
}

const count = (n: number) => (n >= 2 ** 31 - 1 ? "any number of" : String(n));

export function checkSignature(node: Node, index: number, opset: number, inputs: readonly (TensorType | null)[]): void {
  const sig = signatureAt(node.op, opset);
  if (sig === undefined) return;
  const who = () => describeNode(node, index);
  if (sig === null) throw new ModelError(`${who()}: ${node.op} does not exist in opset ${opset}`);
  const [minIn, maxIn, minOut, maxOut] = sig.arity;
  const nIn = present(node.inputs);
  const nOut = present(node.outputs);
  if (nIn < minIn || nIn > maxIn) {
    throw new ModelError(`${who()} has ${nIn} input${nIn === 1 ? "" : "s"}; ${node.op} (opset ${opset}) takes ${minIn === maxIn ? count(minIn) : `${minIn} to ${count(maxIn)}`}`);
  }
  if (nOut < minOut || nOut > maxOut) {
    throw new ModelError(`${who()} has ${nOut} output${nOut === 1 ? "" : "s"}; ${node.op} (opset ${opset}) makes ${minOut === maxOut ? count(minOut) : `${minOut} to ${count(maxOut)}`}`);
  }
  const bound = new Map<string, { dtype: DType; input: number }>();
  for (let i = 0; i < nIn; i++) {
    const formal = formalAt(sig.inputs, i)!;
    if (node.inputs[i] === "") {
      if (formal.option === "") throw new ModelError(`${who()}: input ${i} of ${node.op} is required but empty`);
      continue;
    }
    const t = inputs[i];
    if (!t) continue;
    const allowed = sig.types[formal.type] ?? [formal.type];
    if (!allowed.includes(t.dtype)) {
      const what = sig.types[formal.type] ? `${formal.type} in {${allowed.join(", ")}}` : formal.type;
      throw new ModelError(`${who()}: input ${i} ("${node.inputs[i]}") is ${t.dtype}, but ${node.op} (opset ${opset}) takes ${what} there`);
    }
    if (!sig.types[formal.type] || formal.option === "*") continue;
    const first = bound.get(formal.type);
    if (!first) bound.set(formal.type, { dtype: t.dtype, input: i });
    else if (first.dtype !== t.dtype) {
      throw new ModelError(`${who()}: inputs ${first.input} and ${i} are ${first.dtype} and ${t.dtype}, but ${node.op} takes one type ${formal.type} for both`);
    }
  }
}
