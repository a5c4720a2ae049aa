/** CLIP's worker-thread kernels. */
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { clipVisualInput, type ClipPreprocessConfig } from "./visual-preprocess.ts";

export const clipKernels = {
  "clip.visualInput": (args: { image: RgbImage; config: ClipPreprocessConfig }) => clipVisualInput(args.image, args.config),
};
