/** Decoded bytes are announced from the header before any pixel is decoded, and bounded in flight. */
import { expect, test } from "bun:test";
import { DECODED_BYTES_PER_PIXEL, decodeImage } from "../../src/pipeline/decode-image.ts";
import { ByteBudget } from "../../src/http/admission.ts";
import { RequestError } from "../../src/pipeline/request-error.ts";
import { declaredPng } from "../support/fuzz/image-corpus.ts";

const sharp: typeof import("sharp").default = require("sharp");

test("beforeDecode hears width x height x 6 bytes, and its refusal stops the decode", async () => {
  const png = new Uint8Array(
    await sharp({ create: { width: 300, height: 200, channels: 3, background: "#abc" } })
      .png()
      .toBuffer(),
  );
  const told: number[] = [];
  const image = await decodeImage(png, { maxPixels: 1e6, beforeDecode: (bytes) => told.push(bytes) });
  expect(told).toEqual([300 * 200 * DECODED_BYTES_PER_PIXEL]);
  expect(image.width).toBe(300);
  const refused = await decodeImage(png, {
    maxPixels: 1e6,
    beforeDecode: () => {
      throw new RequestError(503, "busy");
    },
  }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(RequestError);
  expect((refused as RequestError).status).toBe(503);
});

test("an image past the pixel limit is a 400 from its header, before beforeDecode reserves anything", async () => {
  const told: number[] = [];
  const error = await decodeImage(declaredPng(30_000, 30_000), { maxPixels: 50_000_000, beforeDecode: (bytes) => told.push(bytes) }).catch((e: unknown) => e);
  expect((error as RequestError).status).toBe(400);
  expect((error as RequestError).message).toContain("Image is too large");
  expect(told).toEqual([]);
});

test("the byte budget admits until full (the first always), then refuses until released", () => {
  const budget = new ByteBudget(100);
  const [a, b, c, huge] = [{}, {}, {}, {}];
  expect(budget.reserve(a, 60)).toBe(true);
  expect(budget.reserve(b, 50)).toBe(false);
  expect(budget.reserve(c, 40)).toBe(true);
  expect(budget.reserved).toBe(100);
  budget.release(a);
  budget.release(a); // twice: no effect
  expect(budget.reserved).toBe(40);
  expect(budget.reserve(b, 50)).toBe(true);
  budget.release(b);
  budget.release(c);
  expect(budget.reserve(huge, 1000)).toBe(true);
});
