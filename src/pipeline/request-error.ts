/** A problem with the request itself: answered with `status` and a FastAPI-style `{"detail": …}`. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.name = "RequestError";
  }
}
