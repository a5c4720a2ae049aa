/**
 * Finds the ArrayBuffers inside a message that can be transferred instead of copied. Shared
 * buffers are left out: they are shared by reference anyway and cannot be transferred.
 */
export function collectTransferables(value: unknown, depth = 0, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (value === null || typeof value !== "object" || depth > 4) return out;
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && !out.includes(buffer)) out.push(buffer);
    return out;
  }
  if (value instanceof ArrayBuffer) {
    if (!out.includes(value)) out.push(value);
    return out;
  }
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) collectTransferables(child, depth + 1, out);
  return out;
}
