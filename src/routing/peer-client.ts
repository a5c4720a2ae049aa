/**
 * Sends a share of a request to a peer as an ordinary /predict: the entries of its task, the image
 * bytes exactly as the client sent them (never decoded and re-encoded) or the text. One deadline
 * covers connecting, the peer's inference and reading the body; the client's own abandon signal
 * (its request timed out) cancels it too.
 */
export type PeerPayload = { image: Blob } | { text: string };

export interface PeerAnswer {
  status: number;
  contentType: string;
  body: Uint8Array;
}

export async function postPredict(
  peerUrl: string,
  entriesJson: string,
  payload: PeerPayload,
  options: { accept: string | null; timeoutS: number; signal?: AbortSignal },
): Promise<PeerAnswer> {
  const form = new FormData();
  form.append("entries", entriesJson);
  if ("image" in payload) form.append("image", payload.image, "blob");
  else form.append("text", payload.text);
  const deadline = AbortSignal.timeout(options.timeoutS * 1000);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const response = await fetch(`${peerUrl}/predict`, {
    method: "POST",
    body: form,
    headers: options.accept ? { accept: options.accept } : {},
    signal,
  });
  const body = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", body };
}
