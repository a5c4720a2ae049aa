/**
 * The kernels worker threads can run, by name. Each task contributes its own table; this is the one
 * place that gathers them, for the kernel threads (kernel-thread.ts) and the pool's inline mode.
 */
import { clipKernels } from "./clip/kernels.ts";
import { faceKernels } from "./facial-recognition/kernels.ts";
import { ocrKernels } from "./ocr/kernels.ts";

export const kernels = { ...clipKernels, ...faceKernels, ...ocrKernels };
