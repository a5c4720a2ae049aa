/** Splitting a peer's JSON into its top-level fields, each kept as printed. */
import { expect, test } from "bun:test";
import { topLevelFields } from "../../src/routing/response-fields.ts";

test("fields keep their exact text: float32 digits, nested values, escaped quotes and brackets in strings, whitespace around", () => {
  const json =
    ' { "clip" : "[0.1,2.0e-5]" , "ocr":{"text":["a\\"}],b","c"],"box":[0.5,1.0]},"facial-recognition":[{"boundingBox":{"x1":690.0}}],\n"imageHeight":480 } ';
  expect([...topLevelFields(json)]).toEqual([
    ["clip", '"[0.1,2.0e-5]"'],
    ["ocr", '{"text":["a\\"}],b","c"],"box":[0.5,1.0]}'],
    ["facial-recognition", '[{"boundingBox":{"x1":690.0}}]'],
    ["imageHeight", "480"],
  ]);
  expect([...topLevelFields("{}")]).toEqual([]);
});

test("anything but a well-formed JSON object is refused", () => {
  for (const bad of ['{"clip":', "[1,2]", "null", "<html>"]) expect(() => topLevelFields(bad)).toThrow();
});
