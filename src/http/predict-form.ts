/**
 * Reads the /predict form ourselves instead of Elysia's parser, which would turn the JSON text
 * of `entries` into an object and lose upstream's 422 semantics. Accepts what FastAPI's
 * `Form`/`File` accept: multipart (both encodings the Immich server uses: `FormData` + `Blob`, and
 * its hand-built `immich-<uuid>` boundary) and urlencoded (text fields only). Unknown parts are ignored.
 */
import { RequestError } from "../pipeline/request-error.ts";

/** The form as the body schema validates it: text fields stay text, `image` stays a File. */
export interface PredictForm {
  entries?: string;
  image?: File;
  text?: string;
}

export async function readPredictForm(request: Request): Promise<PredictForm> {
  const contentType = request.headers.get("content-type") ?? "";
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "multipart/form-data" && mediaType !== "application/x-www-form-urlencoded") {
    throw new RequestError(415, `Unsupported content type '${mediaType || "(none)"}': send multipart/form-data`);
  }
  if (mediaType === "multipart/form-data" && !/boundary=/i.test(contentType)) {
    throw new RequestError(400, "Malformed multipart body: the content type has no boundary");
  }
  let form: Awaited<ReturnType<Request["formData"]>>;
  try {
    form = await request.formData();
  } catch (error) {
    throw new RequestError(400, `Malformed form body: ${error instanceof Error ? error.message : String(error)}`);
  }
  // FastAPI takes an empty text value of a Form or File field as not sent (`_get_multidict_value`):
  // `entries=` is a missing field (422), `image=` (what Swagger UI sends with no file chosen) no image.
  const field = (name: string) => {
    const value = form.get(name);
    return value === "" ? null : value;
  };
  const result: PredictForm = {};
  const entries = field("entries");
  if (entries !== null) result.entries = typeof entries === "string" ? entries : await entries.text();
  const text = field("text");
  if (text !== null) result.text = typeof text === "string" ? text : await text.text();
  const image = field("image");
  // A text part named `image` still carries bytes, as FastAPI's `bytes = File()` accepts it.
  if (image !== null) result.image = typeof image === "string" ? new File([image], "image") : image;
  return result;
}
