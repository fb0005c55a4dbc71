/**
 * The op registry: every op kiln knows, each declared once with its attribute schema,
 * fusion pattern kind, shape/type inference and reference evaluation.
 */
import type { Attr, AttrType, Graph, Node } from "../ir/graph.js";
import { InternalError, ModelError, UnsupportedError } from "../ir/errors.js";
import type { Tensor } from "../ir/tensor.js";
import type { TensorType } from "../ir/types.js";

/** TVM-style pattern kinds, used by operator fusion. */
export type PatternKind =
  | "elementwise"
  | "broadcast"
  | "injective"
  | "reduction"
  | "out-elementwise-fusable"
  | "opaque";

type AttrValueOf<T extends AttrType> = Extract<Attr, { type: T }>["value"];

export interface AttrSpec<T extends AttrType = AttrType> {
  readonly type: T;
  /** The ONNX default; a function when it differs between opset versions. */
  readonly default?: AttrValueOf<T> | ((opset: number) => AttrValueOf<T> | undefined);
  readonly required?: boolean;
  /** First opset version that has this attribute (inclusive). */
  readonly since?: number;
  /** First opset version that no longer has it (it moved to an input, say). */
  readonly until?: number;
  /** The values a string attribute may take (checked at inference, so no kernel sees another). */
  readonly values?: readonly string[];
}

export type AttrSchema = Readonly<Record<string, AttrSpec>>;

/** Typed access to a node's attributes with the schema's defaults applied. */
export class Attrs {
  constructor(
    private readonly node: Node,
    private readonly schema: AttrSchema,
    private readonly opset: number,
  ) {}

  has(name: string): boolean {
    return name in this.node.attrs;
  }

  private get<T extends AttrType>(name: string, type: T): AttrValueOf<T> | undefined {
    return this.lookup(name, type) as AttrValueOf<T> | undefined;
  }

  private lookup(name: string, type: AttrType): unknown {
    const a = this.node.attrs[name];
    if (a !== undefined) {
      if (a.type !== type) throw new ModelError(`${this.where()}: attribute '${name}' must be ${type}, got ${a.type}`);
      return a.value;
    }
    const spec = this.schema[name];
    if (spec === undefined) throw new InternalError(`${this.node.op} reads attribute '${name}' that its schema does not declare`);
    return typeof spec.default === "function" ? spec.default(this.opset) : spec.default;
  }

  private need<T extends AttrType>(name: string, type: T): AttrValueOf<T> {
    const v = this.get(name, type);
    if (v === undefined) throw new ModelError(`${this.where()}: required attribute '${name}' is missing`);
    return v;
  }

  int(name: string): number { return this.need(name, "int"); }
  float(name: string): number { return this.need(name, "float"); }
  string(name: string): string { return this.need(name, "string"); }
  ints(name: string): readonly number[] { return this.need(name, "ints"); }
  floats(name: string): readonly number[] { return this.need(name, "floats"); }
  strings(name: string): readonly string[] { return this.need(name, "strings"); }
  tensor(name: string): Tensor { return this.need(name, "tensor"); }
  graph(name: string): Graph { return this.need(name, "graph"); }

  optInt(name: string): number | undefined { return this.get(name, "int"); }
  optFloat(name: string): number | undefined { return this.get(name, "float"); }
  optString(name: string): string | undefined { return this.get(name, "string"); }
  optInts(name: string): readonly number[] | undefined { return this.get(name, "ints"); }
  optFloats(name: string): readonly number[] | undefined { return this.get(name, "floats"); }
  optStrings(name: string): readonly string[] | undefined { return this.get(name, "strings"); }
  optTensor(name: string): Tensor | undefined { return this.get(name, "tensor"); }
  optGraph(name: string): Graph | undefined { return this.get(name, "graph"); }

  private where(): string {
    return this.node.name ? `${this.node.op} "${this.node.name}"` : this.node.op;
  }
}

interface BaseContext {
  readonly node: Node;
  /** Opset version of the node's domain. */
  readonly opset: number;
  readonly attrs: Attrs;
  /** How many outputs the node declares (trailing optional outputs may be absent). */
  readonly outputCount: number;
}

export interface InferContext extends BaseContext {
  /** Input types; null for an omitted optional input. */
  readonly inputs: readonly (TensorType | null)[];
  /** Input values where they are known at compile time (initializers, folded constants). */
  readonly constants: readonly (Tensor | undefined)[];
  /** A fresh symbol for a dimension that depends on data (NonZero's count, say). */
  fresh(): string;
  /** Infer the output types of a subgraph given its input types (for If/Loop/Scan). */
  inferSubgraph(graph: Graph, inputs: readonly (TensorType | null)[]): (TensorType | null)[];
}

export interface EvalContext extends BaseContext {
  /** Input values; null for an omitted optional input. */
  readonly inputs: readonly (Tensor | null)[];
  /** Run a subgraph with its formal inputs bound to `inputs`; it also sees the enclosing scope. */
  runSubgraph(graph: Graph, inputs: readonly Tensor[]): Tensor[];
  /** Most iterations a Loop may run before it stops with a LimitError (unset: the Loop op's default). */
  readonly maxLoopIterations?: number;
}

export interface OpDef {
  /** `Conv`, or `domain:Op` outside the default ONNX domain. */
  readonly name: string;
  /** The fusion pattern kind; a function for ops whose kind depends on the node (kiln:InLayout). */
  readonly pattern: PatternKind | ((node: Node) => PatternKind);
  readonly attrs: AttrSchema;
  /** Output types (one per declared output; null for one it cannot know, treated as unknown). */
  infer(ctx: InferContext): (TensorType | null)[];
  /** Reference evaluation: plain, obviously correct TypeScript. */
  evaluate(ctx: EvalContext): (Tensor | null)[];
  /**
   * For ops whose outputs depend on their inputs' shapes alone (Shape, Size): the outputs from
   * those shapes, so inference knows them for static shapes whatever the size of the data.
   */
  fromShapes?(ctx: BaseContext, shapes: readonly (readonly number[])[]): Tensor[];
}

/** Ops whose results are not a function of their inputs: never folded, merged or evaluated early. */
export const NONDETERMINISTIC_OPS: ReadonlySet<string> = new Set([
  "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial",
]);

const REGISTRY = new Map<string, OpDef>();

export function registerOps(defs: readonly OpDef[]): void {
  for (const d of defs) {
    if (REGISTRY.has(d.name)) throw new Error(`op ${d.name} registered twice`);
    REGISTRY.set(d.name, d);
  }
}

export function findOp(op: string): OpDef | undefined {
  return REGISTRY.get(op);
}

export function getOp(op: string): OpDef {
  const d = REGISTRY.get(op);
  if (d === undefined) throw new UnsupportedError(`op ${op} is not supported`, `op ${op}`);
  return d;
}

/** A node's fusion pattern kind (opaque for an op kiln does not know). */
export function patternOf(node: Node): PatternKind {
  const def = REGISTRY.get(node.op);
  if (!def) return "opaque";
  return typeof def.pattern === "function" ? def.pattern(node) : def.pattern;
}

export function allOps(): OpDef[] {
  return [...REGISTRY.values()];
}
