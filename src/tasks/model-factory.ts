/**
 * Which class serves a (task, type, name): the registry's family decides, as upstream's
 * `get_model_source` does. Names outside the registry, or a family that does not serve the asked
 * task, are refused with a message naming them.
 */
import type { InferenceModel, ModelContext } from "../models/inference-model.ts";
import type { ModelIdentity, ModelType } from "../models/identity.ts";
import { lookupModel, UnknownModelError } from "../models/registry.ts";
import { excerpt } from "../client-text.ts";
import { familyClass } from "./catalog.ts";
import type { ModelClass } from "./task-descriptor.ts";

export type { ModelClass } from "./task-descriptor.ts";

function modelClass(identity: ModelIdentity, name: string): { Model: ModelClass; canonicalName: string } {
  const registered = lookupModel(name);
  if (!registered) throw new UnknownModelError(`Unknown model name '${excerpt(name)}'`);
  const Model = familyClass(registered.family, identity);
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
