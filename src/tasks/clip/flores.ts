/**
 * Locale → FLORES-200 code for NLLB-based CLIP text towers. NLLB expects the language code
 * glued in front of the text; the Immich server sends the user's Weblate locale. Table as
 * upstream's WEBLATE_TO_FLORES200 (56 entries).
 */
import { log } from "../../log.ts";
import { escapedForLog } from "../../client-text.ts";

// A Map, not an object literal: a locale such as "constructor" must not hit Object.prototype.
const WEBLATE_TO_FLORES200: ReadonlyMap<string, string> = new Map([
  ["af", "afr_Latn"],
  ["ar", "arb_Arab"],
  ["az", "azj_Latn"],
  ["be", "bel_Cyrl"],
  ["bg", "bul_Cyrl"],
  ["ca", "cat_Latn"],
  ["cs", "ces_Latn"],
  ["da", "dan_Latn"],
  ["de", "deu_Latn"],
  ["el", "ell_Grek"],
  ["en", "eng_Latn"],
  ["es", "spa_Latn"],
  ["et", "est_Latn"],
  ["fa", "pes_Arab"],
  ["fi", "fin_Latn"],
  ["fr", "fra_Latn"],
  ["he", "heb_Hebr"],
  ["hi", "hin_Deva"],
  ["hr", "hrv_Latn"],
  ["hu", "hun_Latn"],
  ["hy", "hye_Armn"],
  ["id", "ind_Latn"],
  ["it", "ita_Latn"],
  ["ja", "jpn_Hira"],
  ["kmr", "kmr_Latn"],
  ["ko", "kor_Hang"],
  ["lb", "ltz_Latn"],
  ["lt", "lit_Latn"],
  ["lv", "lav_Latn"],
  ["mfa", "zsm_Latn"],
  ["mk", "mkd_Cyrl"],
  ["mn", "khk_Cyrl"],
  ["mr", "mar_Deva"],
  ["ms", "zsm_Latn"],
  ["nb-NO", "nob_Latn"],
  ["nn", "nno_Latn"],
  ["nl", "nld_Latn"],
  ["pl", "pol_Latn"],
  ["pt-BR", "por_Latn"],
  ["pt", "por_Latn"],
  ["ro", "ron_Latn"],
  ["ru", "rus_Cyrl"],
  ["sk", "slk_Latn"],
  ["sl", "slv_Latn"],
  ["sr-Cyrl", "srp_Cyrl"],
  ["sv", "swe_Latn"],
  ["ta", "tam_Taml"],
  ["te", "tel_Telu"],
  ["th", "tha_Thai"],
  ["tr", "tur_Latn"],
  ["uk", "ukr_Cyrl"],
  ["ur", "urd_Arab"],
  ["vi", "vie_Latn"],
  ["zh-CN", "zho_Hans"],
  ["zh-Hans", "zho_Hans"],
  ["zh-TW", "zho_Hant"],
]);

export const FLORES_FALLBACK = "eng_Latn";

/** Number of locales the table knows (exposed for tests). */
export const FLORES_TABLE_SIZE = WEBLATE_TO_FLORES200.size;

/**
 * The FLORES-200 code for a locale: exact match, else the part before the first "-"
 * (`de-CH` → `de`), else English with upstream's warning.
 */
export function floresCode(language: string): string {
  const code = WEBLATE_TO_FLORES200.get(language) ?? WEBLATE_TO_FLORES200.get(language.split("-")[0]!);
  if (code !== undefined) return code;
  log.warn(`Language '${escapedForLog(language)}' not found, defaulting to 'en'`);
  return FLORES_FALLBACK;
}
