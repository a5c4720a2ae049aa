/** Native files of the linux-arm64 executable (glibc ≥ 2.28, libstdc++6). */
import ortBinding from "../../node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node" with { type: "file" };
import ortLibrary from "../../node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1" with { type: "file" };
import sharpBinding from "../../vendor/npm/@img/sharp-linux-arm64/lib/sharp-linux-arm64-0.35.5.node" with { type: "file" };
import vipsLibrary from "../../vendor/npm/@img/sharp-libvips-linux-arm64/lib/libvips-cpp.so.8.18.7" with { type: "file" };
import type { NativeTarget } from "./native-target.ts";
import { tesseractFiles } from "./tesseract-files.ts";

export const nativeTarget: NativeTarget = {
  name: "linux-arm64",
  files: {
    "onnxruntime/onnxruntime_binding.node": ortBinding,
    // The binding's RUNPATH is $ORIGIN/.
    "onnxruntime/libonnxruntime.so.1": ortLibrary,
    "sharp-linux-arm64/lib/sharp.node": sharpBinding,
    // sharp's DT_RPATH is $ORIGIN/../../sharp-libvips-linux-arm64/lib.
    "sharp-libvips-linux-arm64/lib/libvips-cpp.so.8.18.7": vipsLibrary,
  },
  data: tesseractFiles,
  addons: { ort: "onnxruntime/onnxruntime_binding.node", sharp: "sharp-linux-arm64/lib/sharp.node" },
};
