/**
 * A model backed by one ONNX session, `<model dir>/<type>/model.onnx`: the session is opened while
 * loading, released on unload, and read through `session`, which names the model when used before
 * it is loaded (or after it was unloaded).
 */
import { modelFilePath } from "./cache-layout.ts";
import { InferenceModel } from "./inference-model.ts";
import { OnnxSession } from "../runtime/onnx-session.ts";

export abstract class OnnxModel<Output = unknown> extends InferenceModel<Output> {
  private opened: OnnxSession | undefined;
  /** Whether a person waits for this model's runs, so they run on the search thread (onnx-session.ts). */
  protected readonly interactive: boolean = false;
  /** Whether its input's shape varies run to run, so the session goes without the arena (onnx-session.ts). */
  protected readonly varyingShape: boolean = false;

  protected get session(): OnnxSession {
    if (!this.opened) throw new Error(`${this.identity.task} ${this.identity.type} model '${this.name}' is not loaded`);
    return this.opened;
  }

  protected async openSession(modelDir: string): Promise<OnnxSession> {
    // A load retried after a failure (inference-model.ts) must not leave the first session behind.
    // Only the session: the subclass may already hold what it read before (a tokenizer, a charset).
    await this.releaseSession();
    this.opened = await OnnxSession.create(modelFilePath(modelDir, this.identity.type), this.context.session, { interactive: this.interactive, varyingShape: this.varyingShape });
    return this.opened;
  }

  /** Subclasses holding more than the session extend this and drop the rest. */
  async unload(): Promise<void> {
    await this.releaseSession();
  }

  private async releaseSession(): Promise<void> {
    const session = this.opened;
    this.opened = undefined;
    await session?.release();
  }
}
