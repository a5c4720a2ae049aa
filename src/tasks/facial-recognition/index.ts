/** Faces: SCRFD detection, then ArcFace embeddings of the aligned crops. */
import { Type } from "@sinclair/typebox";
import { detectorRecognizerTask, responseOf, type TaskDescriptor } from "../task-descriptor.ts";
import { type DetectedFaces, FaceDetectionModel, type FaceDetectorResponse } from "./detection.ts";
import { FaceRecognitionModel, type RecognizedFace } from "./recognition.ts";

// Annotated: the task names are read from this type (models/identity.ts), not inferred from the classes.
export const facialRecognitionTask: TaskDescriptor<"facial-recognition", "detection" | "recognition"> = detectorRecognizerTask<
  "facial-recognition",
  DetectedFaces
>(
  "facial-recognition",
  { insightface: { detection: FaceDetectionModel, recognition: FaceRecognitionModel } },
  {
    recognition: responseOf<RecognizedFace[]>()((embedding) =>
      Type.Array(
        Type.Object({
          boundingBox: Type.Object({ x1: Type.Number(), y1: Type.Number(), x2: Type.Number(), y2: Type.Number() }),
          embedding,
          score: Type.Number(),
        }),
      ),
    ),
    detection: responseOf<FaceDetectorResponse>()(() =>
      Type.Object({
        boxes: Type.Array(Type.Array(Type.Number()), { description: "x1 y1 x2 y2 per face" }),
        scores: Type.Array(Type.Number()),
        landmarks: Type.Array(Type.Array(Type.Array(Type.Number())), { description: "five (x, y) points per face" }),
      }),
    ),
  },
);
