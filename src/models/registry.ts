/**
 * Every model name upstream accepts, the family that serves it and its embedding size, plus our
 * own OCR fallback, tesseract (`tesseract`, `tesseract__<language>`).
 * Names are looked up after `cleanName`, like upstream's `get_model_source`; an unknown name is a
 * client error here (400), a deliberate improvement over upstream's bare 500.
 */

export type ModelFamily = "openclip" | "mclip" | "insightface" | "paddle" | "tesseract";

/** A name outside the registry, or a family that does not serve the asked task: the client's mistake (400). */
export class UnknownModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownModelError";
  }
}

export interface RegisteredModel {
  readonly name: string;
  readonly family: ModelFamily;
  /** Length of the embedding the model returns (CLIP and faces); undefined for OCR. */
  readonly dimensions: number | undefined;
}

/**
 * `clean_name` exactly as upstream: keep what follows the last `/`, replace `:` `\` `/` with `_`,
 * delete every `.` (so the legacy `ViT-B-32::openai` becomes `ViT-B-32__openai`).
 */
export function cleanName(name: string): string {
  const last = name.split("/").pop() ?? name;
  return last.replace(/[:\\/]/g, "_").replaceAll(".", "");
}

// Dimensions as the Immich server's CLIP_MODEL_INFO sizes its pgvector column.
const OPENCLIP_BY_DIM: Record<number, string[]> = {
  512: [
    "RN101__openai",
    "RN101__yfcc15m",
    "ViT-B-16__laion400m_e31",
    "ViT-B-16__laion400m_e32",
    "ViT-B-16__openai",
    "ViT-B-32__laion2b-s34b-b79k",
    "ViT-B-32__laion2b_e16",
    "ViT-B-32__laion400m_e31",
    "ViT-B-32__laion400m_e32",
    "ViT-B-32__openai",
    "XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k",
  ],
  640: ["RN50x4__openai", "ViT-B-16-plus-240__laion400m_e31", "ViT-B-16-plus-240__laion400m_e32"],
  768: [
    "RN50x16__openai",
    "ViT-B-16-SigLIP-256__webli",
    "ViT-B-16-SigLIP-384__webli",
    "ViT-B-16-SigLIP-512__webli",
    "ViT-B-16-SigLIP-i18n-256__webli",
    "ViT-B-16-SigLIP__webli",
    "ViT-L-14-336__openai",
    "ViT-L-14-quickgelu__dfn2b",
    "ViT-L-14__laion2b-s32b-b82k",
    "ViT-L-14__laion400m_e31",
    "ViT-L-14__laion400m_e32",
    "ViT-L-14__openai",
    "nllb-clip-base-siglip__mrl",
    "nllb-clip-base-siglip__v1",
    "ViT-B-16-SigLIP2__webli",
    "ViT-B-32-SigLIP2-256__webli",
  ],
  1024: [
    "RN50__cc12m",
    "RN50__openai",
    "RN50__yfcc15m",
    "RN50x64__openai",
    "ViT-H-14-378-quickgelu__dfn5b",
    "ViT-H-14-quickgelu__dfn5b",
    "ViT-H-14__laion2b-s32b-b79k",
    "ViT-L-16-SigLIP-256__webli",
    "ViT-L-16-SigLIP-384__webli",
    "ViT-g-14__laion2b-s12b-b42k",
    "XLM-Roberta-Large-ViT-H-14__frozen_laion5b_s13b_b90k",
    "ViT-L-16-SigLIP2-256__webli",
    "ViT-L-16-SigLIP2-384__webli",
    "ViT-L-16-SigLIP2-512__webli",
  ],
  1152: [
    "ViT-SO400M-14-SigLIP-384__webli",
    "nllb-clip-large-siglip__mrl",
    "nllb-clip-large-siglip__v1",
    "ViT-SO400M-14-SigLIP2__webli",
    "ViT-SO400M-14-SigLIP2-378__webli",
    "ViT-SO400M-16-SigLIP2-256__webli",
    "ViT-SO400M-16-SigLIP2-384__webli",
    "ViT-SO400M-16-SigLIP2-512__webli",
  ],
  1536: ["ViT-gopt-16-SigLIP2-256__webli", "ViT-gopt-16-SigLIP2-384__webli"],
};

/** Multilingual CLIP: textual tower is M-CLIP (input_ids + attention_mask), visual tower is OpenCLIP's. */
const MCLIP: Record<string, number> = {
  "LABSE-Vit-L-14": 768,
  "XLM-Roberta-Large-Vit-B-16Plus": 640,
  "XLM-Roberta-Large-Vit-B-32": 512,
  "XLM-Roberta-Large-Vit-L-14": 768,
};

const INSIGHTFACE = ["antelopev2", "buffalo_l", "buffalo_m", "buffalo_s"];

const PADDLE = [
  "PP-OCRv5_server",
  "PP-OCRv5_mobile",
  "CH__PP-OCRv5_server",
  "CH__PP-OCRv5_mobile",
  "EL__PP-OCRv5_mobile",
  "EN__PP-OCRv5_mobile",
  "ESLAV__PP-OCRv5_mobile",
  "KOREAN__PP-OCRv5_mobile",
  "LATIN__PP-OCRv5_mobile",
  "TH__PP-OCRv5_mobile",
];

/**
 * Tesseract (not upstream): `tesseract` reads English, `tesseract__<code>` a language tessdata
 * publishes, by its code (`deu`, `chi_sim`, `srp_latn`). Only the published codes (tessdata 4.0.0,
 * as the `@tesseract.js-data/<lang>` packages carry them): each new language downloads a file and
 * starts a Tesseract thread, so a client must not be able to invent them. Looked up rather than
 * listed with the others: `immich-ml models` shows `tesseract` once, not 120 times.
 */
const TESSERACT = "tesseract";
const TESSDATA_LANGUAGES: ReadonlySet<string> = new Set([
  "afr",
  "amh",
  "ara",
  "asm",
  "aze",
  "aze_cyrl",
  "bel",
  "ben",
  "bod",
  "bos",
  "bre",
  "bul",
  "cat",
  "ceb",
  "ces",
  "chi_sim",
  "chi_sim_vert",
  "chi_tra",
  "chi_tra_vert",
  "chr",
  "cos",
  "cym",
  "dan",
  "deu",
  "div",
  "dzo",
  "ell",
  "eng",
  "enm",
  "epo",
  "est",
  "eus",
  "fao",
  "fas",
  "fil",
  "fin",
  "fra",
  "frk",
  "frm",
  "fry",
  "gla",
  "gle",
  "glg",
  "grc",
  "guj",
  "hat",
  "heb",
  "hin",
  "hrv",
  "hun",
  "hye",
  "iku",
  "ind",
  "isl",
  "ita",
  "ita_old",
  "jav",
  "jpn",
  "jpn_vert",
  "kan",
  "kat",
  "kat_old",
  "kaz",
  "khm",
  "kir",
  "kmr",
  "kor",
  "kor_vert",
  "lao",
  "lat",
  "lav",
  "lit",
  "ltz",
  "mal",
  "mar",
  "mkd",
  "mlt",
  "mon",
  "mri",
  "msa",
  "mya",
  "nep",
  "nld",
  "nor",
  "oci",
  "ori",
  "pan",
  "pol",
  "por",
  "pus",
  "que",
  "ron",
  "rus",
  "san",
  "sin",
  "slk",
  "slv",
  "snd",
  "spa",
  "spa_old",
  "sqi",
  "srp",
  "srp_latn",
  "sun",
  "swa",
  "swe",
  "syr",
  "tam",
  "tat",
  "tel",
  "tgk",
  "tha",
  "tir",
  "ton",
  "tur",
  "uig",
  "ukr",
  "urd",
  "uzb",
  "uzb_cyrl",
  "vie",
  "yid",
  "yor",
]);

function isTesseractLanguageName(name: string): boolean {
  const [prefix, language, ...rest] = name.split("__");
  return prefix === TESSERACT && language !== undefined && rest.length === 0 && TESSDATA_LANGUAGES.has(language);
}

function buildRegistry(): Map<string, RegisteredModel> {
  const registry = new Map<string, RegisteredModel>();
  const add = (name: string, family: ModelFamily, dimensions: number | undefined) => registry.set(name, { name, family, dimensions });
  for (const [dim, list] of Object.entries(OPENCLIP_BY_DIM)) for (const name of list) add(name, "openclip", Number(dim));
  for (const [name, dim] of Object.entries(MCLIP)) add(name, "mclip", dim);
  for (const name of INSIGHTFACE) add(name, "insightface", 512);
  for (const name of PADDLE) add(name, "paddle", undefined);
  add(TESSERACT, "tesseract", undefined);
  return registry;
}

const REGISTRY = buildRegistry();

/** The registered model for a (possibly uncleaned) name, or undefined. */
export function lookupModel(name: string): RegisteredModel | undefined {
  const clean = cleanName(name);
  return REGISTRY.get(clean) ?? (isTesseractLanguageName(clean) ? { name: clean, family: "tesseract", dimensions: undefined } : undefined);
}

export function registeredModels(): RegisteredModel[] {
  return [...REGISTRY.values()];
}
