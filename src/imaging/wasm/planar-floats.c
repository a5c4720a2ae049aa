/*
 * The last step of the pre-processing kernels whose resize runs here: interleaved 8-bit RGB → the
 * three float32 planes of a tensor, each byte looked up in its plane's 256-entry table (the
 * model's normalisation, computed once per byte by src/imaging/planar-row.ts). The same lookup as
 * that file's `writePlanarRow`, hence the same values; a scalar loop, because a table lookup has
 * no SIMD form, yet 2.5× the JavaScript's speed where the output stays in the caches
 * (src/imaging/wasm-rows.ts).
 */
#include <stdint.h>

/*
 * `count` pixels of `src` → `out` (plane k at out + k * plane_stride): plane k takes byte
 * `channels[k]` (0 R, 1 G, 2 B) of each pixel through tables + 256 * k.
 */
__attribute__((export_name("planar_floats")))
void planar_floats(const uint8_t *src, int32_t count, int32_t c0, int32_t c1, int32_t c2, const float *tables, float *out, int32_t plane_stride) {
  const float *t0 = tables, *t1 = tables + 256, *t2 = tables + 512;
  float *o0 = out, *o1 = out + plane_stride, *o2 = out + 2 * plane_stride;
  for (int32_t i = 0; i < count; i++, src += 3) {
    o0[i] = t0[src[c0]];
    o1[i] = t1[src[c1]];
    o2[i] = t2[src[c2]];
  }
}
