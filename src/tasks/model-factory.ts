/**
 * Which class serves a (task, type, name): the registry's family decides, as upstream's
 * `get_model_source` does. Names outside the registry, or a family that does not serve the asked
 * task, are refused with a message naming them.
 */
import type { InferenceModel, ModelContext } from "../models/inference-model.ts";
import type { ModelIdentity, ModelType } from "../models/identity.ts";
import { lookupModel, type ModelFamily } from "../models/registry.ts";
import { excerpt } from "../client-text.ts";
import { ClipTextualModel } from "./clip/textual.ts";
import { ClipVisualModel } from "./clip/visual.ts";
import { FaceDetectionModel } from "./facial-recognition/detection.ts";
import { FaceRecognitionModel } from "./facial-recognition/recognition.ts";
import { OcrDetectionModel } from "./ocr/detection.ts";
import { OcrRecognitionModel } from "./ocr/recognition.ts";
import { TesseractDetectionModel } from "./ocr/tesseract/detection.ts";
import { TesseractRecognitionModel } from "./ocr/tesseract/recognition.ts";

export class UnknownModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownModelError";
  }
}

type ModelClass = (new (name: string, context: ModelContext) => InferenceModel) & { readonly depends: readonly ModelType[] };

const CLASSES: Partial<Record<ModelFamily, Partial<Record<ModelIdentity["type"], ModelClass>>>> = {
  openclip: { visual: ClipVisualModel, textual: ClipTextualModel },
  mclip: { visual: ClipVisualModel, textual: ClipTextualModel },
  insightface: { detection: FaceDetectionModel, recognition: FaceRecognitionModel },
  paddle: { detection: OcrDetectionModel, recognition: OcrRecognitionModel },
  tesseract: { detection: TesseractDetectionModel, recognition: TesseractRecognitionModel },
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
