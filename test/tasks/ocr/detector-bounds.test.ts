/** OCR detection refuses, with 400, what upstream fails on (a side shrunk to 0) and inputs past its memory bound. */
import { expect, test } from "bun:test";
import { InvalidInputError } from "../../../src/models/inference-model.ts";
import { checkDetectorInput, MAX_DETECTOR_PIXELS } from "../../../src/tasks/ocr/detection.ts";

// The check reads the size only: no pixels are needed.
const image = (width: number, height: number) => ({ width, height, data: new Uint8Array(0) });

test("maxResolution 1 to 16 shrinks a photo to nothing: 400 naming the value", () => {
  for (const maxResolution of [1, 5, 11, 16]) {
    expect(() => checkDetectorInput(image(800, 600), maxResolution)).toThrow(InvalidInputError);
    expect(() => checkDetectorInput(image(800, 600), maxResolution)).toThrow(`maxResolution ${maxResolution} shrinks the 800x600 image to nothing`);
  }
  expect(() => checkDetectorInput(image(800, 600), 17)).not.toThrow();
});

test("an image too small to hold text is not refused, whatever maxResolution (upstream answers no text)", () => {
  expect(() => checkDetectorInput(image(31, 600), 1)).not.toThrow();
});

test("a 50000x1000 panorama is refused before the detector; any preview-sized image is not", () => {
  expect(() => checkDetectorInput(image(50_000, 1_000), 736)).toThrow("its detector input would be 36800x736");
  for (const [width, height] of [
    [1440, 1080],
    [7680, 4320],
    [4000, 200],
    [5000, 736],
  ]) {
    expect(() => checkDetectorInput(image(width!, height!), 736)).not.toThrow();
  }
  expect(MAX_DETECTOR_PIXELS).toBeGreaterThanOrEqual(5000 * 736);
});
