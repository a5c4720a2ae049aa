/**
 * A model backed by one ONNX session, `<model dir>/<type>/model.onnx`: the session is part of the
 * model's loaded state (opened last while loading, see InferenceModel.loadFrom) and released on unload.
 */
import { modelFilePath } from "./cache-layout.ts";
import { InferenceModel, type ModelInputs } from "./inference-model.ts";
import { OnnxSession, type SessionUsage } from "../runtime/onnx-session.ts";

/** The least an ONNX model's loaded state holds; subclasses add what else they read. */
export interface OnnxLoaded {
  readonly session: OnnxSession;
}

export abstract class OnnxModel<Output = unknown, Inputs extends ModelInputs = ModelInputs, Loaded extends OnnxLoaded = OnnxLoaded> extends InferenceModel<
  Output,
  Inputs,
  Loaded
> {
  /** Whether a person waits for this model's runs, so they run on the search thread (onnx-session.ts). */
  protected readonly interactive: boolean = false;
  /** Whether its runs make many small activations, planned as one block (onnx-session.ts `SessionUsage`). */
  protected readonly memoryPattern: boolean = false;
  /** A convolutional model's typical input shape, to create its session in the faster layout (onnx-session.ts `SessionUsage`). */
  protected readonly layoutProbe: readonly number[] | undefined = undefined;

  /** `usage` adds to what the class declares (a text tower's shorter sequences, which need its tokenizer). */
  protected openSession(modelDir: string, usage: SessionUsage = {}): Promise<OnnxSession> {
    return OnnxSession.create(this.context.inference, modelFilePath(modelDir, this.identity.type), this.context.session, {
      interactive: this.interactive,
      memoryPattern: this.memoryPattern,
      ...(this.layoutProbe ? { layoutProbe: this.layoutProbe } : {}),
      ...usage,
    });
  }

  /** Subclasses holding more than the session extend this and drop the rest. */
  protected async release(loaded: Loaded): Promise<void> {
    await loaded.session.release();
  }
}
