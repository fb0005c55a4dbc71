/**
 * DeepSpeech2-style speech model: two strided 2-D convolutions over a spectrogram, the feature
 * maps read as a sequence over time, unrolled LSTM layers, and a per-step classifier over the
 * character set (29: letters, space, apostrophe, CTC blank).
 */
import { GraphBuilder } from "../frontend/builder/builder.js";
import type { Model } from "../ir/graph.js";
import { LstmStack, unstack } from "./lstm.js";
import { Weights } from "./weights.js";

export interface DeepSpeech2Options {
  /** Spectrogram frames (the time axis before the first convolution's stride 2). */
  readonly frames: number;
  readonly frequencies: number;
  readonly channels: number;
  readonly layers: number;
  readonly hidden: number;
  readonly classes: number;
}

export const DEEPSPEECH2_DEFAULTS: DeepSpeech2Options = { frames: 100, frequencies: 161, channels: 32, layers: 3, hidden: 256, classes: 29 };

interface ConvSpec {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
}

/** DeepSpeech2's convolutions: (frequency, time) kernels 41x11 and 21x11, padded to half the kernel. */
const CONVS: readonly ConvSpec[] = [
  { kernel: [41, 11], stride: [2, 2] },
  { kernel: [21, 11], stride: [2, 1] },
];

/** Input `spectrogram` [1, 1, frequencies, frames]; output per-step class probabilities [steps, classes]. */
export function deepSpeech2(options: Partial<DeepSpeech2Options> = {}): Model {
  const o = { ...DEEPSPEECH2_DEFAULTS, ...options };
  const b = new GraphBuilder("deepspeech2", { "": 17 });
  const w = new Weights(b);
  let h = b.input("spectrogram", "float32", [1, 1, o.frequencies, o.frames]);
  let [c, f, t] = [1, o.frequencies, o.frames];
  CONVS.forEach(({ kernel: [kf, kt], stride: [sf, st] }, i) => {
    const pads = [kf >> 1, kt >> 1, kf >> 1, kt >> 1];
    const fanIn = c * kf * kt;
    h = b.node("Relu", [b.node("Conv", [h, w.param(`conv${i}.w`, [o.channels, c, kf, kt], fanIn, Math.SQRT2), w.param(`conv${i}.b`, [o.channels], fanIn)],
      { pads, strides: [sf, st] })]);
    [c, f, t] = [o.channels, Math.floor((f + 2 * (kf >> 1) - kf) / sf) + 1, Math.floor((t + 2 * (kt >> 1) - kt) / st) + 1];
  });
  // [1, C, F, T] -> [T, C*F]: one feature vector per time step.
  const seq = b.node("Reshape", [b.node("Transpose", [h], { perm: [0, 3, 1, 2] }), w.ints([t, c * f])]);
  const { hs } = new LstmStack(b, w, "rnn", c * f, o.hidden, o.layers).run(unstack(b, w, seq, t));
  const logits = b.node("Gemm", [b.node("Concat", hs, { axis: 0 }), w.param("fc.w", [o.hidden, o.classes], o.hidden), w.param("fc.b", [o.classes], o.hidden)]);
  b.output(b.node("Softmax", [logits], { axis: 1 }));
  return b.build();
}
