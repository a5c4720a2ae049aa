/**
 * Whether a load failed because of the model's files themselves, the only failures after which
 * upstream clears a model's folder and fetches it again (`except (OSError, InvalidProtobuf,
 * BadZipFile, NoSuchFile)` in immich_ml's main.py). Any other load error (a malformed config, an
 * operator onnxruntime lacks) would fail the same way on a fresh copy, so a download is not wasted on it.
 */

/** onnxruntime's messages for a file that is not ONNX (INVALID_PROTOBUF) or is missing (NO_SUCHFILE). */
const ONNX_FILE_FAILURES = [/Protobuf parsing failed/, /File doesn't exist/];

/** Thrown by a model whose engine reports its files unusable in its own words (Tesseract's data). */
export class ModelFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ModelFileError";
  }
}

export function isModelFileError(error: unknown): boolean {
  if (error instanceof ModelFileError) return true;
  if (!(error instanceof Error)) return false;
  // Node's and Bun's file-system errors carry the failing system call (OSError's counterpart):
  // missing, unreadable, a folder where a file should be.
  if (typeof (error as { syscall?: unknown }).syscall === "string") return true;
  return ONNX_FILE_FAILURES.some((pattern) => pattern.test(error.message));
}
