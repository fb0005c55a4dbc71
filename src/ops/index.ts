/** Registers every op family. Each family file exports its `ops`; nothing else registers ops. */
import { registerOps } from "./registry.js";
import { ops as activationOps } from "./activation.js";
import { ops as attentionOps } from "./attention.js";
import { ops as bitcastOps } from "./bitcast.js";
import { ops as controlOps } from "./control.js";
import { ops as convOps } from "./conv.js";
import { ops as elementwiseOps } from "./elementwise.js";
import { ops as fusedOps } from "./fused.js";
import { ops as imageOps } from "./image.js";
import { ops as indexingOps } from "./indexing.js";
import { ops as layoutOps } from "./layout.js";
import { ops as lossOps } from "./loss.js";
import { ops as matmulOps } from "./matmul.js";
import { ops as miscOps } from "./misc.js";
import { ops as movementOps } from "./movement.js";
import { ops as normalizationOps } from "./normalization.js";
import { ops as poolOps } from "./pool.js";
import { ops as quantizeOps } from "./quantize.js";
import { ops as reduceOps } from "./reduce.js";
import { ops as rnnOps } from "./rnn.js";
import { ops as shapeOps } from "./shape.js";
import { ops as signalOps } from "./signal.js";

registerOps([
  ...activationOps,
  ...attentionOps,
  ...bitcastOps,
  ...controlOps,
  ...convOps,
  ...elementwiseOps,
  ...fusedOps,
  ...imageOps,
  ...indexingOps,
  ...layoutOps,
  ...lossOps,
  ...matmulOps,
  ...miscOps,
  ...movementOps,
  ...normalizationOps,
  ...poolOps,
  ...quantizeOps,
  ...reduceOps,
  ...rnnOps,
  ...shapeOps,
  ...signalOps,
]);

export { allOps, findOp, getOp } from "./registry.js";
