/** OCR: PP-OCR (RapidOCR's ONNX exports) or Tesseract detection, then line recognition. */
import { Type } from "@sinclair/typebox";
import { detectorRecognizerTask, responseOf, type TaskDescriptor } from "../task-descriptor.ts";
import { type DetectedText, OcrDetectionModel, type TextDetectorResponse } from "./detection.ts";
import { type OcrLines, OcrRecognitionModel } from "./recognition.ts";
import { TesseractDetectionModel } from "./tesseract/detection.ts";
import { TesseractRecognitionModel } from "./tesseract/recognition.ts";

// Annotated: the task names are read from this type (models/identity.ts), not inferred from the classes.
export const ocrTask: TaskDescriptor<"ocr", "detection" | "recognition"> = detectorRecognizerTask<"ocr", DetectedText>(
  "ocr",
  {
    paddle: { detection: OcrDetectionModel, recognition: OcrRecognitionModel },
    tesseract: { detection: TesseractDetectionModel, recognition: TesseractRecognitionModel },
  },
  {
    recognition: responseOf<OcrLines>()(() =>
      Type.Object({
        text: Type.Array(Type.String()),
        box: Type.Array(Type.Number(), { description: "8 numbers per line: TL TR BR BL as x,y normalised to 0-1" }),
        boxScore: Type.Array(Type.Number()),
        textScore: Type.Array(Type.Number()),
      }),
    ),
    detection: responseOf<TextDetectorResponse>()(() =>
      Type.Object({
        boxes: Type.Array(Type.Array(Type.Array(Type.Number())), { description: "four (x, y) corners per box, in pixels" }),
        scores: Type.Array(Type.Number()),
      }),
    ),
  },
);
