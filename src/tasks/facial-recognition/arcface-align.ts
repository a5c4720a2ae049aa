/**
 * Face alignment and the recognition input, as insightface's `norm_crop` and `ArcFaceONNX.get_feat`
 * do it (contract spec 2.5): a least-squares similarity transform (rotation, uniform scale,
 * translation) from the 5 detected landmarks onto ArcFace's 112x112 template, an OpenCV-exact
 * bilinear warp with a black border, then `(p - 127.5) / 127.5` in RGB planes.
 */
import type { RgbImage } from "../../imaging/rgb-image.ts";
import { warpAffineCv, warpPlan } from "../../imaging/cv-warp-affine.ts";
import { type ByteNormalisation, warpAffinePlanarWasm } from "../../imaging/cv-warp-affine-wasm.ts";
import { byteTable, uniformLayout, writePlanarRow } from "../../imaging/planar-row.ts";
import type { ResampleBackend } from "../../imaging/wasm/resample-module.ts";
import { pooledFloat32 } from "../../runtime/tensor-pool.ts";

export const ARCFACE_SIZE = 112;

/** (x, y) of left eye, right eye, nose tip, left and right mouth corner in a 112x112 crop. */
export const ARCFACE_TEMPLATE: readonly number[] = Object.freeze([38.2946, 51.6963, 73.5318, 51.5014, 56.0252, 71.7366, 41.5493, 92.3655, 70.7299, 92.2041]);

/** `(p - 127.5) / 127.5`, as the WebAssembly warp computes it. */
export const ARCFACE_NORMALISATION: ByteNormalisation = Object.freeze({ offset: 127.5, divisor: 127.5 });
/** The same for every byte, as the float32 tensor stores it (equal: see ByteNormalisation). */
const TABLE = byteTable((p) => (p - ARCFACE_NORMALISATION.offset) / ARCFACE_NORMALISATION.divisor);
/** The same in RGB planes. */
const LAYOUT = uniformLayout(TABLE, [0, 1, 2]);

/**
 * The similarity `dst ≈ s·R·src + t` minimising the squared error over all point pairs, as a
 * row-major 2x3 matrix. This is the optimum scikit-image's `SimilarityTransform.estimate` finds
 * with Umeyama's SVD method; in 2-D it has a closed form: treating points as complex numbers
 * centred on their means, `s·e^{iθ} = Σ conj(p)·q / Σ |p|²`, which is always a proper rotation
 * (Umeyama's reflection correction never applies). Degenerate input (all source points equal)
 * gives NaNs, as scikit-image does.
 *
 * @param src x,y pairs (flat)
 * @param dst x,y pairs (flat), same count
 */
export function similarityTransform(src: ArrayLike<number>, dst: ArrayLike<number>): number[] {
  if (src.length !== dst.length || src.length < 4 || src.length % 2 !== 0) {
    throw new Error(`similarityTransform: need matching x,y pairs (got ${src.length} and ${dst.length} numbers)`);
  }
  const n = src.length / 2;
  let psx = 0,
    psy = 0,
    qsx = 0,
    qsy = 0;
  for (let i = 0; i < n; i++) {
    psx += src[2 * i]!;
    psy += src[2 * i + 1]!;
    qsx += dst[2 * i]!;
    qsy += dst[2 * i + 1]!;
  }
  const [pmx, pmy, qmx, qmy] = [psx / n, psy / n, qsx / n, qsy / n];
  let spread = 0,
    dot = 0,
    cross = 0;
  for (let i = 0; i < n; i++) {
    const px = src[2 * i]! - pmx;
    const py = src[2 * i + 1]! - pmy;
    const qx = dst[2 * i]! - qmx;
    const qy = dst[2 * i + 1]! - qmy;
    spread += px * px + py * py;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
  }
  if (spread === 0) return new Array<number>(6).fill(Number.NaN);
  const a = dot / spread; // s·cos θ
  const b = cross / spread; // s·sin θ
  return [a, -b, qmx - (a * pmx - b * pmy), b, a, qmy - (b * pmx + a * pmy)];
}

/** The 112x112 ArcFace crop for one face's 10 landmark coordinates (source-image pixels). */
export function alignFace(image: RgbImage, landmarks: ArrayLike<number>): RgbImage {
  if (landmarks.length !== ARCFACE_TEMPLATE.length) throw new Error(`alignFace: expected 10 landmark coordinates, got ${landmarks.length}`);
  return warpAffineCv(image, similarityTransform(landmarks, ARCFACE_TEMPLATE), ARCFACE_SIZE, ARCFACE_SIZE);
}

/**
 * The recognition input for the faces of `image` whose landmarks are given (10 coordinates each):
 * [N, 3, 112, 112], RGB planes of `(p - 127.5) / 127.5`, in a pooled tensor. Each crop is warped
 * straight into the tensor by the WebAssembly kernel where available (`backend` as for the
 * resizes), else made by `alignFace` and written through the table: the same values, in a third
 * to a half of the time (bench/README.md, "The face alignment in WebAssembly").
 */
export function alignedFacesInput(image: RgbImage, landmarks: ArrayLike<number>, backend?: ResampleBackend): Float32Array {
  const points = ARCFACE_TEMPLATE.length;
  if (landmarks.length % points !== 0) throw new Error(`alignedFacesInput: expected 10 landmark coordinates per face, got ${landmarks.length}`);
  const plane = ARCFACE_SIZE * ARCFACE_SIZE;
  const count = landmarks.length / points;
  // Every value of every crop is written below, as a reused tensor requires.
  const tensor = pooledFloat32(count * 3 * plane);
  for (let n = 0; n < count; n++) {
    const face = Array.from({ length: points }, (_, i) => landmarks[n * points + i]!);
    const offset = n * 3 * plane;
    if (backend !== "js") {
      const plan = warpPlan(similarityTransform(face, ARCFACE_TEMPLATE), ARCFACE_SIZE, ARCFACE_SIZE);
      if (warpAffinePlanarWasm(backend, image, plan, ARCFACE_SIZE, ARCFACE_SIZE, ARCFACE_NORMALISATION, tensor, offset)) continue;
    }
    writePlanarRow(tensor, plane, offset, alignFace(image, face).data, plane, LAYOUT);
  }
  return tensor;
}
