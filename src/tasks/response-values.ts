/**
 * Values that tasks put in their outputs and that the HTTP layer must encode specially to match
 * upstream's bytes (numpy float32 through orjson) — see `http/encode-response.ts`.
 */

/** An embedding vector: JSON carries it as a string holding a JSON array (upstream's format). */
export class Embedding {
  constructor(readonly values: Float32Array) {}
}

/** One float32 number (a score, a coordinate): printed with float32's shortest digits, e.g. `690.0`. */
export class Float32Value {
  readonly value: number;
  constructor(value: number) {
    this.value = Math.fround(value);
  }
}

/**
 * An output printed differently from how it is held (face and text detections, when detection is
 * the task's last model). Declared by the classes that have it, so that the encoder's duck test and
 * the classes cannot drift apart unnoticed; `Response` is what the task's descriptor describes.
 */
export interface ResponseShape<Response = unknown> {
  toResponse(): Response;
}

export function hasResponseShape(value: unknown): value is ResponseShape {
  return typeof value === "object" && value !== null && typeof (value as Partial<ResponseShape>).toResponse === "function";
}
