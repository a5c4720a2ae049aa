/**
 * Where PP-OCR models come from: not the Hugging Face Hub but RapidOCR's model registry
 * (ModelScope), as upstream's RapidOCR-based service downloads them, each file checked against the
 * SHA-256 RapidOCR publishes for it (its `default_models.yaml`; the same digests from v3.4.0, whose
 * paths these are, to v3.9.2). Files land at `<model dir>/<type>/model.onnx`, the layout upstream
 * uses. `MACHINE_LEARNING_OCR_MODEL_URL` points at a mirror of the same tree.
 */
import { join } from "node:path";
import { log } from "../../log.ts";
import type { ModelIdentity } from "../../models/identity.ts";
import type { ModelSource } from "../../models/model-store.ts";
import { fetchVerified } from "../../models/url-download.ts";
import type { FetchPolicy } from "../../net/fetch-with-timeouts.ts";

const DEFAULT_OCR_MODEL_BASE = "https://www.modelscope.cn/models/RapidAI/RapidOCR/resolve/v3.4.0";

export interface RemoteModel {
  path: string;
  sha256: string;
}

type Variant = "mobile" | "server";

export interface OcrCatalogue {
  /** Detectors by variant (`mobile` in the name picks mobile, else server), as upstream picks them. */
  detectors: Record<Variant, RemoteModel>;
  /** Recognisers by language prefix (none = CH). */
  recognizers: Record<string, Partial<Record<Variant, RemoteModel>>>;
}

export const RAPIDOCR_CATALOGUE: OcrCatalogue = {
  detectors: {
    mobile: { path: "onnx/PP-OCRv5/det/ch_PP-OCRv5_mobile_det.onnx", sha256: "4d97c44a20d30a81aad087d6a396b08f786c4635742afc391f6621f5c6ae78ae" },
    server: { path: "onnx/PP-OCRv5/det/ch_PP-OCRv5_server_det.onnx", sha256: "0f8846b1d4bba223a2a2f9d9b44022fbc22cc019051a602b41a7fda9667e4cad" },
  },
  recognizers: {
    CH: {
      mobile: { path: "onnx/PP-OCRv5/rec/ch_PP-OCRv5_rec_mobile_infer.onnx", sha256: "5825fc7ebf84ae7a412be049820b4d86d77620f204a041697b0494669b1742c5" },
      server: { path: "onnx/PP-OCRv5/rec/ch_PP-OCRv5_rec_server_infer.onnx", sha256: "e09385400eaaaef34ceff54aeb7c4f0f1fe014c27fa8b9905d4709b65746562a" },
    },
    EN: { mobile: { path: "onnx/PP-OCRv5/rec/en_PP-OCRv5_rec_mobile_infer.onnx", sha256: "c3461add59bb4323ecba96a492ab75e06dda42467c9e3d0c18db5d1d21924be8" } },
    KOREAN: {
      mobile: { path: "onnx/PP-OCRv5/rec/korean_PP-OCRv5_rec_mobile_infer.onnx", sha256: "cd6e2ea50f6943ca7271eb8c56a877a5a90720b7047fe9c41a2e541a25773c9b" },
    },
    LATIN: {
      mobile: { path: "onnx/PP-OCRv5/rec/latin_PP-OCRv5_rec_mobile_infer.onnx", sha256: "b20bd37c168a570f583afbc8cd7925603890efbcdc000a59e22c269d160b5f5a" },
    },
    ESLAV: {
      mobile: { path: "onnx/PP-OCRv5/rec/eslav_PP-OCRv5_rec_mobile_infer.onnx", sha256: "08705d6721849b1347d26187f15a5e362c431963a2a62bfff4feac578c489aab" },
    },
    EL: { mobile: { path: "onnx/PP-OCRv5/rec/el_PP-OCRv5_rec_mobile_infer.onnx", sha256: "b4368bccd557123c702b7549fee6cd1e94b581337d1c9b65310f109131542b7f" } },
    TH: { mobile: { path: "onnx/PP-OCRv5/rec/th_PP-OCRv5_rec_mobile_infer.onnx", sha256: "de541dd83161c241ff426f7ecfd602a0ba77d686cf3ab9a6c255ea82fd08006e" } },
  },
};

/** `EN__PP-OCRv5_mobile` → language `EN`, variant `mobile`. */
export function parseOcrName(name: string): { language: string; variant: Variant; base: string } {
  const parts = name.split("__");
  const base = parts.at(-1)!;
  return { language: parts.length > 1 ? parts[0]! : "CH", variant: base.includes("mobile") ? "mobile" : "server", base };
}

/** The registry entry for one part of an OCR model; throws when RapidOCR publishes none (e.g. a server recogniser for EN). */
export function remoteOcrModel(name: string, type: ModelIdentity["type"], catalogue: OcrCatalogue = RAPIDOCR_CATALOGUE): RemoteModel {
  const { language, variant } = parseOcrName(name);
  const model = type === "detection" ? catalogue.detectors[variant] : catalogue.recognizers[language]?.[variant];
  if (!model) throw new Error(`no ${variant} ${type} model is published for language ${language}`);
  return model;
}

/** `baseUrl`: MACHINE_LEARNING_OCR_MODEL_URL, or undefined for RapidOCR's own ModelScope tree. */
export function rapidOcrSource(baseUrl: string | undefined, name: string, network: FetchPolicy, catalogue: OcrCatalogue = RAPIDOCR_CATALOGUE): ModelSource {
  baseUrl ??= DEFAULT_OCR_MODEL_BASE;
  return {
    label: `${baseUrl} (RapidOCR models for ${name})`,
    mirrorSetting: "MACHINE_LEARNING_OCR_MODEL_URL",
    async fetch(modelDir: string, identity: ModelIdentity): Promise<void> {
      const model = remoteOcrModel(name, identity.type, catalogue);
      const url = `${baseUrl.replace(/\/+$/, "")}/${model.path}`;
      log.info(`Downloading ${identity.type} model for ${name} from ${url}`);
      await fetchVerified(url, join(modelDir, identity.type, "model.onnx"), model.sha256, network);
    },
  };
}
