/**
 * Layout optimization for the CPU. Convolutions, pooling and normalization run in the blocked
 * layout NCHW[b]c (b a multiple of 4, the f32x4 lane count), which keeps b output channels of
 * one pixel in one SIMD register.
 *   1. Each such node becomes `ToBlocked -> kiln:InLayout(node) -> FromBlocked`.
 *   2. Rewrite rules move the transforms outward: an elementwise op over FromBlocked values
 *      (and per-channel constants) runs on the blocked values instead; a channel Concat of
 *      blocked values stays blocked; ToBlocked(FromBlocked(x)) cancels to x.
 *   3. DCE drops the transforms nobody reads.
 * A ResNet then runs in the blocked layout from its first convolution to its last pooling,
 * with one transform at the input and one at the output of the trunk.
 */
import type { Graph, Model, Node } from "../ir/graph.js";
import { Tensor } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";
import { blockedType, toBlocked } from "../ops/layout.js";
import { allOps } from "../ops/registry.js";
import { eliminateDeadCode } from "./dce.js";
import type { Pass } from "./pass.js";
import { rewriteGraph, type Rewrite, type Rule, type RuleContext } from "./rewrite.js";

/** Ops whose kernels care about the layout, and so run blocked. */
const LAYOUT_SENSITIVE = new Set(["Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN", "BatchNormalization"]);

export const DEFAULT_BLOCK = 4;

const channelsOf = (t: TensorType | undefined): number | undefined => {
  const c = t?.shape?.[1];
  return typeof c === "number" ? c : undefined;
};

/** Step 1: wrap each layout-sensitive node. */
function wrapNodes(g: Graph, block: number): Graph {
  const names = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys(), ...g.nodes.flatMap((n) => n.outputs)]);
  const fresh = (base: string) => {
    let k = 0, name: string;
    do name = `${base}_blk${k++}`; while (names.has(name));
    names.add(name);
    return name;
  };
  const typeOf = (v: string): TensorType | undefined => {
    const init = g.initializers.get(v);
    return init ? { dtype: init.dtype, shape: init.shape } : g.valueTypes.get(v) ?? g.inputs.find((x) => x.name === v)?.type;
  };
  const valueTypes = new Map(g.valueTypes);
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const x = n.inputs[0], y = n.outputs[0];
    const xt = x ? typeOf(x) : undefined, yt = y ? typeOf(y) : undefined;
    const wrappable = LAYOUT_SENSITIVE.has(n.op) && x && y && n.outputs.filter((o) => o !== "").length === 1 &&
      xt?.dtype === "float32" && xt.shape && xt.shape.length >= 3 && channelsOf(xt) !== undefined && channelsOf(yt) !== undefined &&
      n.inputs.slice(1).every((v) => v === "" || g.initializers.has(v));
    if (!wrappable) {
      nodes.push(n);
      continue;
    }
    const xb = fresh(x), yb = fresh(y);
    const body: Graph = {
      name: "in_layout",
      inputs: n.inputs.filter((v) => v !== "").map((v) => ({ name: v, type: typeOf(v)! })),
      outputs: [{ name: y, type: yt! }],
      initializers: new Map(),
      nodes: [{ ...n, outputs: [y] }],
      valueTypes: new Map([[y, yt!]]),
    };
    nodes.push(
      { op: "kiln:ToBlocked", name: "", inputs: [x], outputs: [xb], attrs: { block: { type: "int", value: block } } },
      {
        op: "kiln:InLayout", name: n.name, inputs: [xb, ...n.inputs.slice(1).filter((v) => v !== "")], outputs: [yb],
        attrs: {
          block: { type: "int", value: block },
          blocked_inputs: { type: "ints", value: [0] },
          body: { type: "graph", value: body },
        },
      },
      { op: "kiln:FromBlocked", name: "", inputs: [yb], outputs: [y], attrs: { block: { type: "int", value: block }, channels: { type: "int", value: channelsOf(yt)! } } },
    );
    valueTypes.set(xb, blockedType(xt!, block));
    valueTypes.set(yb, blockedType(yt!, block));
  }
  return { ...g, nodes, valueTypes };
}

const intAttr = (n: Node, k: string) => {
  const a = n.attrs[k];
  return a?.type === "int" ? a.value : undefined;
};

/** A FromBlocked node producing v: its blocked source, block and channel count. */
function unblocked(v: string, ctx: RuleContext): { src: string; block: number; channels: number } | undefined {
  const p = ctx.producer(v);
  if (!p || p.op !== "kiln:FromBlocked") return undefined;
  return { src: p.inputs[0]!, block: intAttr(p, "block")!, channels: intAttr(p, "channels")! };
}

/** A constant that broadcasts per channel (or as a scalar) against `out`, in blocked form. */
function blockedConstant(c: Tensor, out: TensorType, block: number, channels: number): Tensor | undefined {
  const rank = out.shape?.length ?? 0;
  if (c.rank > rank) return undefined;
  const dims = [...new Array<number>(rank - c.rank).fill(1), ...c.shape];
  if (dims.every((d) => d === 1)) return c;
  if (dims.some((d, i) => (i === 1 ? d !== channels : d !== 1))) return undefined;
  return toBlocked(c.reshape(dims), block);
}

const sameShape = (a: TensorType | undefined, b: TensorType | undefined) =>
  !!a && !!b && a.shape !== null && b.shape !== null && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);

/** Step 2: an elementwise op over blocked activations runs blocked. */
function elementwiseRule(op: string): Rule {
  return {
    name: `blocked-${op}`, op,
    apply: (n, ctx): Rewrite | null => {
      const y = n.outputs[0]!;
      const yt = ctx.type(y);
      if (n.outputs.length !== 1 || !yt || yt.dtype !== "float32") return null;
      let layout: { block: number; channels: number } | undefined;
      const inputs: string[] = [];
      const initializers = new Map<string, Tensor>();
      for (const v of n.inputs) {
        const u = v === "" ? undefined : unblocked(v, ctx);
        if (u) {
          if (layout && (layout.block !== u.block || layout.channels !== u.channels)) return null;
          if (!sameShape(ctx.type(v), yt)) return null;
          layout = u;
          inputs.push(u.src);
          continue;
        }
        const c = v === "" ? undefined : ctx.constant(v);
        if (v !== "" && !c) return null;
        inputs.push(v);
      }
      if (!layout) return null;
      for (let i = 0; i < inputs.length; i++) {
        const c = ctx.constant(inputs[i]!);
        if (!c) continue;
        const b = blockedConstant(c, yt, layout.block, layout.channels);
        if (!b) return null;
        if (b !== c) {
          const name = ctx.freshName(`${inputs[i]}_blocked`);
          initializers.set(name, b);
          inputs[i] = name;
        }
      }
      const yb = ctx.freshName(`${y}_blocked`);
      return {
        nodes: [
          { ...n, inputs, outputs: [yb] },
          { op: "kiln:FromBlocked", name: "", inputs: [yb], outputs: [y], attrs: { block: { type: "int", value: layout.block }, channels: { type: "int", value: layout.channels } } },
        ],
        initializers,
        types: new Map([[yb, blockedType(yt, layout.block)]]),
      };
    },
  };
}

const concatRule: Rule = {
  name: "blocked-concat", op: "Concat",
  apply: (n, ctx): Rewrite | null => {
    const y = n.outputs[0]!, yt = ctx.type(y);
    const axis = intAttr(n, "axis");
    if (!yt || !yt.shape || (axis !== 1 && axis !== 1 - yt.shape.length)) return null;
    const parts = n.inputs.map((v) => unblocked(v, ctx));
    const block = parts[0]?.block;
    if (!block || parts.some((p) => !p || p.block !== block || p.channels % block !== 0)) return null;
    const yb = ctx.freshName(`${y}_blocked`);
    const channels = parts.reduce((s, p) => s + p!.channels, 0);
    return {
      nodes: [
        { ...n, inputs: parts.map((p) => p!.src), outputs: [yb], attrs: { axis: { type: "int", value: 1 } } } as Node,
        { op: "kiln:FromBlocked", name: "", inputs: [yb], outputs: [y], attrs: { block: { type: "int", value: block }, channels: { type: "int", value: channels } } },
      ],
      types: new Map([[yb, blockedType(yt, block)]]),
    };
  },
};

/** ToBlocked(FromBlocked(x)) with the same block -> x. */
const cancelRule: Rule = {
  name: "cancel-layout-transforms", op: "kiln:ToBlocked",
  apply: (n, ctx) => {
    const u = unblocked(n.inputs[0]!, ctx);
    return u && u.block === intAttr(n, "block") ? { alias: [[n.outputs[0]!, u.src]] } : null;
  },
};

function layoutRules(): Rule[] {
  const elementwise = allOps()
    .filter((d) => typeof d.pattern === "string" && (d.pattern === "elementwise" || d.pattern === "broadcast") && !d.name.includes(":"))
    .map((d) => elementwiseRule(d.name));
  return [cancelRule, concatRule, ...elementwise];
}

export function optimizeLayout(model: Model, block = DEFAULT_BLOCK): Model {
  const wrapped = wrapNodes(model.graph, block);
  const { graph } = rewriteGraph(wrapped, model.opsets, layoutRules());
  return { ...model, graph: eliminateDeadCode(graph) };
}

export const layoutPass: Pass = { name: "layout", run: (m) => optimizeLayout(m) };
