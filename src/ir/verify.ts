/**
 * The verifier: rejects ill-formed graphs with a message naming the node. It checks that each
 * value is defined exactly once (graph inputs, initializers and node outputs never share a name), that every use comes after its definition (the node order is
 * topological), and that graph outputs exist; subgraphs are checked with the enclosing scope.
 */
import { ModelError } from "./errors.js";
import { describeNode, subgraphsOf, type Graph } from "./graph.js";

export class VerifyError extends ModelError {}

export function verifyGraph(graph: Graph, outer: ReadonlySet<string> = new Set()): void {
  verifyIn(graph, (name) => outer.has(name));
}

/** `outer` answers for the enclosing graphs as they stand when this graph's node is reached. */
function verifyIn(graph: Graph, outer: (name: string) => boolean): void {
  const defined = new Set<string>();
  const where = (what: string) => `graph "${graph.name}": ${what}`;
  const define = (name: string, by: string) => {
    if (name === "") return;
    if (defined.has(name)) throw new VerifyError(where(`value "${name}" is defined twice (again by ${by})`));
    defined.add(name);
  };
  for (const v of graph.inputs) define(v.name, "a graph input");
  // ONNX lets an initializer give a graph input a default; the importer makes such inputs
  // constants, so in kiln's IR the two never share a name and passes may trust initializers.
  for (const name of graph.initializers.keys()) define(name, "an initializer");
  const visible = (name: string) => defined.has(name) || outer(name);
  graph.nodes.forEach((node, i) => {
    for (const input of node.inputs) {
      if (input !== "" && !visible(input)) {
        throw new VerifyError(where(`${describeNode(node, i)} reads "${input}", which is not defined before it`));
      }
    }
    // Not a copied set per node: that made verifying a big graph quadratic.
    for (const sub of subgraphsOf(node)) verifyIn(sub, visible);
    for (const output of node.outputs) define(output, describeNode(node, i));
  });
  for (const v of graph.outputs) {
    if (!visible(v.name)) throw new VerifyError(where(`output "${v.name}" is never defined`));
  }
}
