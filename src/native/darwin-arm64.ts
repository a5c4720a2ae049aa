/** Native files of the darwin-arm64 (Apple silicon) executable. */
import ortBinding from "../../node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node" with { type: "file" };
import ortLibrary from "../../node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib" with { type: "file" };
import sharpBinding from "../../vendor/npm/@img/sharp-darwin-arm64/lib/sharp-darwin-arm64-0.35.5.node" with { type: "file" };
import vipsLibrary from "../../vendor/npm/@img/sharp-libvips-darwin-arm64/lib/libvips-cpp.8.18.7.dylib" with { type: "file" };
import type { NativeTarget } from "./native-target.ts";
import { tesseractFiles } from "./tesseract-files.ts";

export const nativeTarget: NativeTarget = {
  name: "darwin-arm64",
  files: {
    "onnxruntime/onnxruntime_binding.node": ortBinding,
    // The binding has LC_RPATH @loader_path and loads @rpath/libonnxruntime.1.dylib.
    "onnxruntime/libonnxruntime.1.dylib": ortLibrary,
    "sharp-darwin-arm64/lib/sharp.node": sharpBinding,
    // sharp has LC_RPATH @loader_path/../../sharp-libvips-darwin-arm64/lib.
    "sharp-libvips-darwin-arm64/lib/libvips-cpp.8.18.7.dylib": vipsLibrary,
  },
  data: tesseractFiles,
  addons: { ort: "onnxruntime/onnxruntime_binding.node", sharp: "sharp-darwin-arm64/lib/sharp.node" },
};
