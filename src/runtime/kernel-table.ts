/**
 * The kernels worker threads can run, by name. Each task contributes its own table; this is the one
 * place that gathers them, for `worker.ts` and for the pool's inline mode.
 */
import { clipKernels } from "../tasks/clip/kernels.ts";
import { faceKernels } from "../tasks/facial-recognition/kernels.ts";
import { ocrKernels } from "../tasks/ocr/kernels.ts";

export const kernels = { ...clipKernels, ...faceKernels, ...ocrKernels };

export type KernelTable = typeof kernels;
