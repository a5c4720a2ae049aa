import { describe, expect, test } from "bun:test";
import { cleanName, lookupModel, registeredModels } from "../../src/models/registry.ts";

describe("model registry", () => {
  test("clean_name follows upstream", () => {
    expect(cleanName("ViT-B-32::openai")).toBe("ViT-B-32__openai");
    expect(cleanName("immich-app/ViT-B-32__openai")).toBe("ViT-B-32__openai");
    expect(cleanName("ViT-H-14-378-quickgelu__dfn5b")).toBe("ViT-H-14-378-quickgelu__dfn5b");
    expect(cleanName("some.model\\name")).toBe("somemodel_name");
  });

  test("every upstream CLIP name is known with the server's dimension", () => {
    const byDim = (dim: number) => registeredModels().filter((m) => m.dimensions === dim && (m.family === "openclip" || m.family === "mclip")).length;
    expect([byDim(512), byDim(640), byDim(768), byDim(1024), byDim(1152), byDim(1536)]).toEqual([12, 4, 18, 14, 8, 2]);
    expect(lookupModel("ViT-B-32::openai")).toEqual({ name: "ViT-B-32__openai", family: "openclip", dimensions: 512 });
    expect(lookupModel("XLM-Roberta-Large-Vit-B-32")?.family).toBe("mclip");
    expect(lookupModel("nllb-clip-large-siglip__v1")?.dimensions).toBe(1152);
  });

  test("face and OCR names", () => {
    for (const name of ["antelopev2", "buffalo_s", "buffalo_m", "buffalo_l"])
      expect(lookupModel(name)).toEqual({ name, family: "insightface", dimensions: 512 });
    for (const name of ["PP-OCRv5_mobile", "PP-OCRv5_server", "EN__PP-OCRv5_mobile", "TH__PP-OCRv5_mobile"]) expect(lookupModel(name)?.family).toBe("paddle");
    expect(lookupModel("buffalo_xl")).toBeUndefined();
  });
});
