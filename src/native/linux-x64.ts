/** Native files of the linux-x64 executable (glibc ≥ 2.28, libstdc++6). */
import ortBinding from "../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node" with { type: "file" };
import ortLibrary from "../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" with { type: "file" };
import sharpBinding from "../../vendor/npm/@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node" with { type: "file" };
import vipsLibrary from "../../vendor/npm/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7" with { type: "file" };
import type { NativeTarget } from "./native-target.ts";
import { tesseractFiles } from "./tesseract-files.ts";

export const nativeTarget: NativeTarget = {
  name: "linux-x64",
  files: {
    "onnxruntime/onnxruntime_binding.node": ortBinding,
    // The binding's RUNPATH is $ORIGIN/.
    "onnxruntime/libonnxruntime.so.1": ortLibrary,
    "sharp-linux-x64/lib/sharp.node": sharpBinding,
    // sharp's DT_RPATH is $ORIGIN/../../sharp-libvips-linux-x64/lib.
    "sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7": vipsLibrary,
  },
  data: tesseractFiles,
  addons: { ort: "onnxruntime/onnxruntime_binding.node", sharp: "sharp-linux-x64/lib/sharp.node" },
};
