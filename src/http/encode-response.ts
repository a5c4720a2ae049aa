/**
 * Encodes task outputs. JSON (the default) reproduces upstream's orjson bytes: embeddings as a
 * string holding a compact float32 array, float32 numbers with float32's shortest digits (`690.0`).
 * `Accept: application/msgpack` gets the same structure as MessagePack with embeddings and other
 * float32 values as native float32 arrays — smaller and faster to parse for other clients.
 */
import { Packr, FLOAT32_OPTIONS } from "msgpackr";
import { Embedding, Float32Value, hasResponseShape } from "../tasks/response-values.ts";
import { formatFloat32, formatFloat32Array } from "./float32-format.ts";

export function encodeJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (value instanceof Embedding) return JSON.stringify(formatFloat32Array(value.values));
  if (value instanceof Float32Value) return formatFloat32(value.value);
  if (value instanceof Float32Array) return formatFloat32Array(value);
  if (Array.isArray(value)) return `[${value.map(encodeJson).join(",")}]`;
  if (hasResponseShape(value)) return encodeJson(value.toResponse());
  if (typeof value === "object") {
    const fields = Object.entries(value).map(([key, field]) => `${JSON.stringify(key)}:${encodeJson(field)}`);
    return `{${fields.join(",")}}`;
  }
  return "null";
}

/** Replaces our value wrappers with plain numbers and arrays so any MessagePack reader can read them. */
function toPlain(value: unknown): unknown {
  if (value instanceof Embedding) return Array.from(value.values);
  if (value instanceof Float32Value) return value.value;
  if (value instanceof Float32Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (hasResponseShape(value)) return toPlain(value.toResponse());
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toPlain(field)]));
  }
  return value;
}

// Every non-integer number the service returns is a float32 value, so float32 encoding loses nothing.
const packr = new Packr({ useFloat32: FLOAT32_OPTIONS.ALWAYS, useRecords: false });

export function encodeMsgpack(value: unknown): Uint8Array {
  return packr.pack(toPlain(value));
}

export const MSGPACK_TYPES = ["application/msgpack", "application/x-msgpack", "application/vnd.msgpack"];

export function wantsMsgpack(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => MSGPACK_TYPES.includes(part.split(";")[0]!.trim().toLowerCase()));
}
