/**
 * Builds multipart bodies byte by byte, including the broken ones a fuzz run needs: parts with or
 * without filenames, LF instead of CRLF, a missing closing boundary, a wrong boundary.
 */
export interface Part {
  name: string;
  data: Uint8Array | string;
  /** Present for file parts, as the Immich server's `filename="blob"`. */
  filename?: string;
  contentType?: string;
}

export interface MultipartShape {
  boundary: string;
  /** Line break between headers; real clients use CRLF. */
  newline?: "\r\n" | "\n";
  /** Leave out the final `--boundary--`. */
  unterminated?: boolean;
  /** Separate parts with this boundary instead of the declared one. */
  bodyBoundary?: string;
}

const encoder = new TextEncoder();

export function multipart(parts: readonly Part[], shape: MultipartShape): Uint8Array {
  const nl = shape.newline ?? "\r\n";
  const boundary = shape.bodyBoundary ?? shape.boundary;
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}${nl}Content-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += nl;
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}${nl}`;
    chunks.push(encoder.encode(head + nl));
    chunks.push(typeof part.data === "string" ? encoder.encode(part.data) : part.data);
    chunks.push(encoder.encode(nl));
  }
  if (!shape.unterminated) chunks.push(encoder.encode(`--${boundary}--${nl}`));
  return concat(chunks);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** An image file part the way the Immich server sends it. */
export const imagePart = (bytes: Uint8Array): Part => ({ name: "image", data: bytes, filename: "blob", contentType: "application/octet-stream" });
