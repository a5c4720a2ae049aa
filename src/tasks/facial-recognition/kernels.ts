/** Face task kernels, run on worker threads. */
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { alignedFacesInput } from "./arcface-align.ts";
import { decodeScrfd, scrfdInput, type RawOutput } from "./scrfd.ts";

export const faceKernels = {
  "faces.detectionInput": (args: { image: RgbImage; inputSize: number }) => scrfdInput(args.image, args.inputSize),
  "faces.decode": (args: { outputs: RawOutput[]; inputSize: number; scale: number; minScore: number }) =>
    decodeScrfd(args.outputs, args.inputSize, args.scale, args.minScore),
  /** Aligned, normalised recognition input for every face: [N, 3, 112, 112]. */
  "faces.recognitionInput": (args: { image: RgbImage; landmarks: Float32Array }) => alignedFacesInput(args.image, args.landmarks),
};
