/**
 * Which class serves a (task, type, name): the registry's family decides, as upstream's
 * `get_model_source` does. Names outside the registry, or a family that does not serve the asked
 * task, are refused with a message naming them.
 */
import type { InferenceModel, ModelContext, ModelInputs } from "../models/inference-model.ts";
import type { ModelIdentity, ModelType } from "../models/identity.ts";
import { lookupModel, type ModelFamily } from "../models/registry.ts";
import { excerpt } from "../client-text.ts";
import { ClipTextualModel } from "./clip/textual.ts";
import { ClipVisualModel } from "./clip/visual.ts";
import { type DetectedFaces, FaceDetectionModel } from "./facial-recognition/detection.ts";
import { FaceRecognitionModel } from "./facial-recognition/recognition.ts";
import { type DetectedText, OcrDetectionModel } from "./ocr/detection.ts";
import { OcrRecognitionModel } from "./ocr/recognition.ts";
import { TesseractDetectionModel } from "./ocr/tesseract/detection.ts";
import { TesseractRecognitionModel } from "./ocr/tesseract/recognition.ts";

export class UnknownModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownModelError";
  }
}

/** A model class producing `Output` from the `Inputs` its `depends` names. */
export type ModelClass<Output = unknown, Inputs extends ModelInputs = ModelInputs> = (new (name: string, context: ModelContext) => InferenceModel<Output, Inputs>) & {
  readonly depends: readonly ModelType[];
};

/**
 * The classes of a task whose recogniser consumes its detector's output (`Handed`), by family.
 * A request may pair models of different families (a PP-OCR detector with a Tesseract
 * recogniser), so every detector of the task must produce `Handed` and every recogniser accept it:
 * a class that produces or expects anything else fails tsc here, not a request.
 */
type DetectorRecognizerClasses<Handed> = Partial<
  Record<ModelFamily, { detection: ModelClass<Handed>; recognition: ModelClass<unknown, { readonly detection: Handed }> }>
>;

const FACE_CLASSES: DetectorRecognizerClasses<DetectedFaces> = {
  insightface: { detection: FaceDetectionModel, recognition: FaceRecognitionModel },
};

const OCR_CLASSES: DetectorRecognizerClasses<DetectedText> = {
  paddle: { detection: OcrDetectionModel, recognition: OcrRecognitionModel },
  tesseract: { detection: TesseractDetectionModel, recognition: TesseractRecognitionModel },
};

const CLASSES: Partial<Record<ModelFamily, Partial<Record<ModelIdentity["type"], ModelClass>>>> = {
  openclip: { visual: ClipVisualModel, textual: ClipTextualModel },
  mclip: { visual: ClipVisualModel, textual: ClipTextualModel },
  ...FACE_CLASSES,
  ...OCR_CLASSES,
};

const FAMILY_TASK: Record<ModelFamily, ModelIdentity["task"]> = {
  openclip: "clip",
  mclip: "clip",
  insightface: "facial-recognition",
  paddle: "ocr",
  tesseract: "ocr",
};

function modelClass(identity: ModelIdentity, name: string): { Model: ModelClass; canonicalName: string } {
  const registered = lookupModel(name);
  if (!registered) throw new UnknownModelError(`Unknown model name '${excerpt(name)}'`);
  const Model = FAMILY_TASK[registered.family] === identity.task ? CLASSES[registered.family]?.[identity.type] : undefined;
  if (!Model) {
    throw new UnknownModelError(`Unknown model combination: '${excerpt(name)}' cannot serve ${identity.task} ${identity.type}`);
  }
  return { Model, canonicalName: registered.name };
}

/** The types whose outputs a model consumes, known without creating or loading it. */
export function dependenciesOf(identity: ModelIdentity, name: string): readonly ModelType[] {
  return modelClass(identity, name).Model.depends;
}

export function createModel(identity: ModelIdentity, name: string, context: ModelContext): InferenceModel {
  const { Model, canonicalName } = modelClass(identity, name);
  return new Model(canonicalName, context);
}
