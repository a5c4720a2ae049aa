/*
 * The last step of the pre-processing kernels whose resize runs here: interleaved 8-bit RGB → the
 * three float32 planes of a tensor. In general each byte is looked up in its plane's 256-entry
 * table (the model's normalisation, computed once per byte by src/imaging/planar-row.ts): the same
 * lookup as that file's `writePlanarRow`, hence the same values; a scalar loop, because a table
 * lookup has no SIMD form, yet 2.5× the JavaScript's speed where the output stays in the caches
 * (src/imaging/wasm-rows.ts). A normalisation that float32 arithmetic computes exactly is computed
 * instead, four pixels at a time (`planar_affine`).
 */
#include <stdint.h>
#include <wasm_simd128.h>

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

/*
 * planar_floats for a normalisation the float32 arithmetic gives exactly: each byte as
 * (byte - offset) * scale, one subtraction and one multiply, both correctly rounded in float32
 * as in the table (src/imaging/planar-row.ts `affineLayout`, which checks that they agree). Four
 * pixels a step: their 12 bytes, loaded at once, give each plane's four values with one swizzle
 * (byte 3i + channel into lane i, the other bytes zero), against twelve table lookups and stores.
 * The last count % 4 pixels are converted one by one, so that nothing is written past a plane.
 */
__attribute__((export_name("planar_affine")))
void planar_affine(const uint8_t *src, int32_t count, int32_t c0, int32_t c1, int32_t c2, float offset, float scale, float *out,
                   int32_t plane_stride) {
  /* Byte 3i + channel into lane i; 0x80 + channel keeps the high bit, which a swizzle makes 0. */
  const v128_t lanes = wasm_i8x16_const(0, -128, -128, -128, 3, -128, -128, -128, 6, -128, -128, -128, 9, -128, -128, -128);
  const v128_t m0 = wasm_i8x16_add(lanes, wasm_i8x16_splat((int8_t)c0));
  const v128_t m1 = wasm_i8x16_add(lanes, wasm_i8x16_splat((int8_t)c1));
  const v128_t m2 = wasm_i8x16_add(lanes, wasm_i8x16_splat((int8_t)c2));
  const v128_t offsets = wasm_f32x4_splat(offset), scales = wasm_f32x4_splat(scale);
  float *o0 = out, *o1 = out + plane_stride, *o2 = out + 2 * plane_stride;
  int32_t i = 0;
  for (; i + 4 <= count; i += 4, src += 12) {
    const v128_t pixels = wasm_v128_load(src);
    wasm_v128_store(o0 + i, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_convert_i32x4(wasm_i8x16_swizzle(pixels, m0)), offsets), scales));
    wasm_v128_store(o1 + i, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_convert_i32x4(wasm_i8x16_swizzle(pixels, m1)), offsets), scales));
    wasm_v128_store(o2 + i, wasm_f32x4_mul(wasm_f32x4_sub(wasm_f32x4_convert_i32x4(wasm_i8x16_swizzle(pixels, m2)), offsets), scales));
  }
  for (; i < count; i++, src += 3) {
    o0[i] = ((float)src[c0] - offset) * scale;
    o1[i] = ((float)src[c1] - offset) * scale;
    o2[i] = ((float)src[c2] - offset) * scale;
  }
}
