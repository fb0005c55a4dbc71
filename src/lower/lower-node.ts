/**
 * Lowering one node of the fused graph (a kiln:Fused function, a kiln:InLayout op, or a lone op)
 * to kernels: one loop IR function per output value, each with its schedule.
 *
 * The members are lowered in order by composing accesses (lowering.ts), so elementwise and
 * injective members are inlined into whatever reads them. A fused function with an anchor
 * (Conv, MatMul, Gemm) becomes the anchor's kernel with the members after it as its epilogue:
 * they are lowered over a stand-in buffer for the accumulator, and the epilogue replaces the
 * stand-in's loads by the accumulated value, which must be read at the output's own index.
 * Other functions materialize each output as a compute stage under the default schedule.
 *
 * Anything outside what the loop IR expresses (non-float data, an op without a lowering, an
 * unusual attribute) makes the whole node run on the reference interpreter, with the reason.
 */
import { KilnError } from "../ir/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { shapeSize, Tensor } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import { type Tensor as TeTensor, compute, placeholder, reduceAxis } from "../loopir/compute.js";
import { type Expr, type Var, add, div, lit, load, lt, mapExpr, mod, mul, select } from "../loopir/expr.js";
import { lower } from "../loopir/lower.js";
import { replay, type Step } from "../loopir/schedule.js";
import type { Func } from "../loopir/stmt.js";
import { innerNode } from "../ops/layout.js";
import { Attrs, getOp } from "../ops/registry.js";
import { ANCHOR_OPS, type AnchorContext, type AnchorLowering, lowerBlockedConv, lowerGemm, lowerMatMul } from "./anchors.js";
import type { Access, OpLowerContext } from "./lowering.js";
import { defaultSchedule } from "./schedule-default.js";
import { BLOCKED_LOWERINGS, LOWERINGS } from "./table.js";

/** Where a kernel input buffer's data comes from. */
export type KernelSource = { readonly kind: "value"; readonly value: string } | { readonly kind: "constant"; readonly tensor: Tensor };

export interface LoweredKernel {
  readonly func: Func;
  readonly steps: readonly Step[];
  /** Source of each input buffer of `func`, by buffer name. */
  readonly inputs: ReadonlyMap<string, KernelSource>;
  /** The graph value that `func`'s one output holds. */
  readonly output: string;
}

export type NodeLowering =
  | { readonly kind: "kernels"; readonly kernels: readonly LoweredKernel[] }
  | { readonly kind: "fallback"; readonly reason: string; /** The op that could not be lowered. */ readonly op: string };

export interface LowerEnv {
  /** Concrete type of a value of the graph the node is in. */
  typeOf(value: string): TensorType | undefined;
  /** A value known at compile time (weights, folded constants). */
  constantOf(value: string): Tensor | undefined;
  opsetOf(op: string): number;
}

/** Thrown from deep inside a lowering to give up on the node. */
class Refusal extends Error {
  constructor(message: string, readonly op?: string) {
    super(message);
  }
}

const ACC = "acc";

/** `prefix` keeps buffer names unique across the kernels of one module. */
export function lowerNode(node: Node, env: LowerEnv, prefix: string): NodeLowering {
  try {
    return { kind: "kernels", kernels: new NodeLowerer(node, env, prefix).run() };
  } catch (e) {
    if (e instanceof Refusal) return { kind: "fallback", reason: e.message, op: e.op ?? node.op };
    // A model error the reference interpreter will report when the node runs.
    if (e instanceof KilnError) return { kind: "fallback", reason: e.message, op: node.op };
    throw e;
  }
}

class NodeLowerer {
  private readonly sources = new Map<string, KernelSource>();
  private readonly stages: TeTensor[] = [];
  private names = 0;

  constructor(private readonly node: Node, private readonly env: LowerEnv, private readonly prefix: string) {}

  run(): LoweredKernel[] {
    const node = this.node;
    const body = node.op === "kiln:Fused" ? (node.attrs["body"]!.value as Graph) : undefined;
    const members = body ? body.nodes : [node];
    const inputs = body ? body.inputs.map((v) => v.name) : node.inputs;
    const outputs = body ? body.outputs.map((v) => v.name) : node.outputs;
    const typeOf = (v: string) => (body ? body.valueTypes.get(v) ?? body.inputs.find((x) => x.name === v)?.type : undefined) ?? this.env.typeOf(v);

    const scope = new Map<string, Access>();
    const constants = new Map<string, Tensor>();
    inputs.forEach((v, i) => {
      if (v === "") return;
      const outer = node.inputs[i]!;
      const c = this.env.constantOf(outer);
      if (c) constants.set(v, c);
      scope.set(v, this.inputAccess(outer, shapeOf(typeOf(v), v)));
    });

    let anchor: { lowering: AnchorLowering; output: string } | undefined;
    for (const m of members) {
      const made = this.lowerMember(m, scope, constants, typeOf, anchor !== undefined);
      if ("anchor" in made) {
        anchor = { lowering: made.anchor, output: m.outputs[0]! };
        const stand = made.anchor;
        scope.set(m.outputs[0]!, { shape: stand.shape, at: (index: readonly Expr[]) => stand.finish(load(ACC, index, "f32"), index) });
      } else {
        made.forEach((a, k) => m.outputs[k] && scope.set(m.outputs[k]!, a));
      }
    }

    const wanted = outputs.map((v, k) => [v, node.outputs[k]!] as const).filter(([, outer]) => outer !== "");
    if (anchor) {
      if (wanted.length !== 1) throw new Refusal("a fused function with an anchor and several outputs");
      const [inner, outer] = wanted[0]!;
      const final = scope.get(inner)!;
      if (final.shape.join() !== anchor.lowering.shape.join()) throw new Refusal("the epilogue broadcasts the anchor's output");
      const kernel = anchor.lowering.kernel(this.fresh("out"), (acc, index) => epilogue(final, acc, index));
      return [this.finish(kernel.outputs[0]!, kernel.steps, outer)];
    }
    return wanted.flatMap(([inner, outer]) => {
      const final = scope.get(inner)!;
      if (shapeSize(final.shape) === 0) return [];
      const out = compute(this.fresh("out"), final.shape, (...index) => final.at(index));
      return [this.finish(out, defaultSchedule(out, this.reachableStages(out)), outer)];
    });
  }

  private finish(out: TeTensor, steps: readonly Step[], value: string): LoweredKernel {
    const func = lower(replay([out], steps), out.name);
    const inputs = new Map(func.inputs.map((b) => [b.name, this.sources.get(b.name)!]));
    return { func, steps, inputs, output: value };
  }

  private fresh(prefix: string): string {
    return `${this.prefix}${prefix}${this.names++}`;
  }

  /** A kernel input read lazily: only inputs actually loaded become buffers (and must be float32). */
  private inputAccess(value: string, shape: readonly number[]): Access {
    let p: TeTensor | undefined;
    return {
      shape,
      at: (index: readonly Expr[]) => {
        p ??= this.placeholderFor(value, shape);
        return p.at(...index);
      },
    };
  }

  private readonly placeholders = new Map<string, TeTensor>();

  private placeholderFor(value: string, shape: readonly number[]): TeTensor {
    const known = this.placeholders.get(value);
    if (known) return known;
    const t = this.env.typeOf(value) ?? this.env.constantOf(value);
    if (t?.dtype !== "float32") throw new Refusal(`a ${t?.dtype ?? "untyped"} input`);
    if (shapeSize(shape) === 0) throw new Refusal("an empty input");
    const p = placeholder(this.fresh("in"), shape);
    this.sources.set(p.name, { kind: "value", value });
    this.placeholders.set(value, p);
    return p;
  }

  private addConstant(t: Tensor): TeTensor {
    const p = placeholder(this.fresh("c"), t.shape);
    this.sources.set(p.name, { kind: "constant", tensor: t });
    return p;
  }

  private context(m: Node, op: Node, inputs: readonly (Access | null)[], constants: readonly (Tensor | undefined)[], outputShapes: readonly (readonly number[])[]): OpLowerContext {
    const opset = this.env.opsetOf(op.op);
    return {
      node: op, opset, inputs, constants, outputShapes,
      attrs: new Attrs(op, getOp(op.op).attrs, opset),
      stage: (shape, bodyFn) => {
        const t = compute(this.fresh("s"), shape, (...index) => bodyFn(index));
        this.stages.push(t);
        return { shape, at: (index: readonly Expr[]) => t.at(...index) };
      },
      reduceAxis: (extent) => reduceAxis(extent, this.fresh("r")),
      table: (values) => {
        const t = this.addConstant(new Tensor("float32", [values.length], Float32Array.from(values)));
        return { shape: t.shape, at: (index: readonly Expr[]) => t.at(...index) };
      },
    };
  }

  /** One member: its output accesses, or the anchor it is. */
  private lowerMember(m: Node, scope: Map<string, Access>, constants: Map<string, Tensor>,
    typeOf: (v: string) => TensorType | undefined, afterAnchor: boolean): Access[] | { anchor: AnchorLowering } {
    const ins = m.inputs.map((v) => (v === "" ? null : scope.get(v) ?? this.refuse(`value ${v} is not available`)));
    const consts = m.inputs.map((v) => constants.get(v) ?? this.env.constantOf(v));
    const op = m.op === "kiln:InLayout" ? innerNode(m).op : m.op;
    for (const o of m.outputs) if (o !== "" && typeOf(o)?.dtype !== "float32") this.refuse(`${op} gives a ${typeOf(o)?.dtype ?? "untyped"} value`, op);
    const outShapes = m.outputs.map((o) => (o === "" ? [] : shapeOf(typeOf(o), o)));

    if (m.op === "kiln:InLayout") {
      const inner = innerNode(m);
      if (inner.op === "Conv") return { anchor: this.anchor(m, inner, ins, consts, outShapes[0]!, afterAnchor) };
      const blocked = BLOCKED_LOWERINGS[inner.op];
      if (blocked) return this.apply(blocked, this.context(m, inner, ins, consts, outShapes), m);
      return this.lowerLogically(m, inner, ins, consts);
    }
    if (ANCHOR_OPS.has(m.op)) return { anchor: this.anchor(m, m, ins, consts, outShapes[0]!, afterAnchor) };
    const lowering = LOWERINGS[m.op] ?? this.refuse(`no loop IR lowering for ${m.op}`, m.op);
    return this.apply(lowering, this.context(m, m, ins, consts, outShapes), m);
  }

  private apply(lowering: NonNullable<(typeof LOWERINGS)[string]>, ctx: OpLowerContext, m: Node): Access[] {
    const made = lowering(ctx);
    if (typeof made === "string") this.refuse(made, ctx.node.op);
    return made as Access[];
  }

  private anchor(m: Node, op: Node, ins: readonly (Access | null)[], consts: readonly (Tensor | undefined)[],
    outputShape: readonly number[], afterAnchor: boolean): AnchorLowering {
    if (afterAnchor) this.refuse("two anchors in one fused function", op.op);
    const opset = this.env.opsetOf(op.op);
    const ctx: AnchorContext = {
      node: op,
      attrs: new Attrs(op, getOp(op.op).attrs, opset),
      outputShape,
      input: (i) => (m.inputs[i] ? this.placeholderFor(this.outerName(m.inputs[i]!), ins[i]!.shape) : null),
      constant: (i) => consts[i],
      addConstant: (t) => this.addConstant(t),
    };
    const logicalIn = m.op === "kiln:InLayout" ? (m.attrs["body"]!.value as Graph).inputs[0]!.type.shape : null;
    const made = op.op === "Conv" ? lowerBlockedConv(ctx, (logicalIn ?? []) as number[]) : op.op === "Gemm" ? lowerGemm(ctx) : lowerMatMul(ctx);
    if (typeof made === "string") this.refuse(made, op.op);
    return made as AnchorLowering;
  }

  /** Outer graph value of a fused body's input (the body reads its inputs by position). */
  private outerName(inner: string): string {
    const body = this.node.op === "kiln:Fused" ? (this.node.attrs["body"]!.value as Graph) : undefined;
    if (!body) return inner;
    const i = body.inputs.findIndex((v) => v.name === inner);
    if (i < 0) this.refuse("an anchor reads a value computed inside its fused function");
    return this.node.inputs[i]!;
  }

  /** An InLayout op without a blocked lowering: its NCHW lowering over unblocked views. */
  private lowerLogically(m: Node, inner: Node, ins: readonly (Access | null)[], consts: readonly (Tensor | undefined)[]): Access[] {
    const body = m.attrs["body"]!.value as Graph;
    const block = (m.attrs["block"]!.value as number);
    const blockedInputs = new Set(m.attrs["blocked_inputs"]!.value as number[]);
    const logical = ins.map((x, i): Access | null => {
      if (!x || !blockedInputs.has(i)) return x;
      return { shape: shapeOf(body.inputs[i]!.type, "an InLayout input"), at: (index: readonly Expr[]) => x.at([index[0]!, div(index[1]!, block), ...index.slice(2), mod(index[1]!, block)]) };
    });
    const outType = body.valueTypes.get(inner.outputs[0]!) ?? body.outputs[0]!.type;
    const made = this.apply(LOWERINGS[inner.op] ?? this.refuse(`no loop IR lowering for ${inner.op}`, inner.op),
      this.context(m, inner, logical, consts, [shapeOf(outType, "an InLayout output")]), inner);
    const y = made[0]!;
    const channels = y.shape[1]!;
    return [{
      shape: [y.shape[0]!, Math.ceil(channels / block), ...y.shape.slice(2), block],
      at: (index: readonly Expr[]) => {
        const c = add(mul(index[1]!, block), index[index.length - 1]!);
        const v = y.at([index[0]!, c, ...index.slice(2, -1)]);
        return channels % block === 0 ? v : select(lt(c, channels), v, lit(0, "f32"));
      },
    }];
  }

  private reachableStages(out: TeTensor): TeTensor[] {
    const seen = new Set<TeTensor>();
    const visit = (t: TeTensor) => t.inputs.forEach((x) => {
      if (x.body !== undefined && !seen.has(x)) { seen.add(x); visit(x); }
    });
    visit(out);
    return this.stages.filter((s) => seen.has(s));
  }

  private refuse(reason: string, op?: string): never {
    throw new Refusal(reason, op);
  }
}

function shapeOf(t: TensorType | undefined, what: string): number[] {
  if (!t?.shape || t.shape.some((d) => typeof d !== "number")) throw new Refusal(`${what} has no static shape`);
  return t.shape as number[];
}

/**
 * The fused function's output at `index` with the accumulator stand-in replaced by `acc`. The
 * stand-in may only be read at `index` itself (any index on axes of extent 1).
 */
function epilogue(final: Access, acc: Expr, index: readonly Var[]): Expr {
  const shape = final.shape;
  const e = final.at(index);
  return mapExpr(e, (x) => {
    if (x.kind !== "load" || x.buffer !== ACC) return x;
    if (x.index.some((ix, d) => shape[d] !== 1 && ix !== index[d])) throw new Refusal("the epilogue reads the accumulator at another index");
    return acc;
  });
}
