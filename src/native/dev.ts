/**
 * `#native-target` when running from source: nothing is embedded, onnxruntime-node and sharp load
 * their addons from node_modules as usual. `scripts/build.ts` swaps in a platform's file map.
 */
import type { NativeTarget } from "./native-target.ts";

export const nativeTarget: NativeTarget = { name: "dev", files: {}, data: {}, addons: {} };
