/** OCR kernels, run on worker threads. */
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { dbPostprocess, type DbOptions } from "./db-postprocess.ts";
import { ocrDetectionInput } from "./det-preprocess.ts";
import { cropTextLines, recognitionBatches } from "./rec-preprocess.ts";

export const ocrKernels = {
  "ocr.detectionInput": (args: { image: RgbImage; maxResolution: number }) => ocrDetectionInput(args.image, args.maxResolution),
  "ocr.postprocess": (args: { pred: Float32Array; width: number; height: number; imageWidth: number; imageHeight: number; options: DbOptions }) =>
    dbPostprocess(args.pred, args.width, args.height, args.imageWidth, args.imageHeight, args.options),
  "ocr.recognitionBatches": (args: { image: RgbImage; boxes: Float32Array; maxBatch: number }) =>
    recognitionBatches(cropTextLines(args.image, args.boxes), args.maxBatch),
};
