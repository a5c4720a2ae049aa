/*
 * Inner loops of Pillow's 8-bit resampling passes (Resample.c: ImagingResampleHorizontal_8bpc,
 * ImagingResampleVertical_8bpc) in WebAssembly SIMD. The fixed-point coefficient tables are
 * computed by src/imaging/pil-resample.ts and copied in, so these loops only do the int32
 * multiply-adds and the clip8: the same integer operations in the same order per channel, hence
 * the same bytes. Wasm's i32 arithmetic wraps like the JS version's Math.imul / `| 0`.
 *
 * Buffers are laid out by src/imaging/pil-resample-wasm.ts with 16 spare bytes after each, because
 * both passes read and write whole vectors past a row's last pixel.
 */
#include <stdint.h>
#include <wasm_simd128.h>

/* 32-bit accumulator - 8 bits of result - 2 bits of headroom, as Pillow. */
#define PRECISION_BITS 22

/* clip8 on 16 accumulators: arithmetic shift, then the saturating narrowings clamp to 0..255. */
static inline v128_t clip8x16(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t ab = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(a, PRECISION_BITS), wasm_i32x4_shr(b, PRECISION_BITS));
  v128_t cd = wasm_i16x8_narrow_i32x4(wasm_i32x4_shr(c, PRECISION_BITS), wasm_i32x4_shr(d, PRECISION_BITS));
  return wasm_u8x16_narrow_i16x8(ab, cd);
}

/* Four bytes at p as four u32 lanes (the pixel's R, G, B and the next pixel's R). */
static inline v128_t load_rgbx(const uint8_t *p) {
  return wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(wasm_v128_load32_zero(p)));
}

/*
 * Horizontal pass over `rows` RGB rows of `src_row_bytes` each into rows of `out_width` pixels.
 * Output pixel x reads count[x] source pixels from byte first_byte[x] with weights
 * weights[x * taps ..]. One pixel per vector: lanes R, G, B and a fourth that is discarded.
 * Two rows per sweep share the weight splats; the second row's bytes are lanes 4-6 of the result.
 */
__attribute__((export_name("resample_rows")))
void resample_rows(const uint8_t *src, int32_t src_row_bytes, int32_t rows, int32_t out_width,
                   const int32_t *first_byte, const int32_t *count, const int32_t *weights, int32_t taps,
                   uint8_t *out) {
  const v128_t half = wasm_i32x4_splat(1 << (PRECISION_BITS - 1));
  const int32_t out_row = out_width * 3;
  int32_t y = 0;
  for (; y + 1 < rows; y += 2) {
    const uint8_t *row = src + y * src_row_bytes;
    uint8_t *o = out + y * out_row;
    for (int32_t x = 0; x < out_width; x++, o += 3) {
      v128_t acc = half, acc2 = half;
      const uint8_t *s = row + first_byte[x];
      const int32_t *w = weights + x * taps;
      for (int32_t t = 0, n = count[x]; t < n; t++, s += 3) {
        v128_t k = wasm_i32x4_splat(w[t]);
        acc = wasm_i32x4_add(acc, wasm_i32x4_mul(load_rgbx(s), k));
        acc2 = wasm_i32x4_add(acc2, wasm_i32x4_mul(load_rgbx(s + src_row_bytes), k));
      }
      v128_t bytes = clip8x16(acc, acc2, acc, acc2);
      wasm_v128_store16_lane(o, bytes, 0);
      wasm_v128_store8_lane(o + 2, bytes, 2);
      wasm_v128_store16_lane(o + out_row, bytes, 2);
      wasm_v128_store8_lane(o + out_row + 2, bytes, 6);
    }
  }
  if (y < rows) {
    const uint8_t *row = src + y * src_row_bytes;
    uint8_t *o = out + y * out_row;
    for (int32_t x = 0; x < out_width; x++, o += 3) {
      v128_t acc = half;
      const uint8_t *s = row + first_byte[x];
      const int32_t *w = weights + x * taps;
      for (int32_t t = 0, n = count[x]; t < n; t++, s += 3) {
        acc = wasm_i32x4_add(acc, wasm_i32x4_mul(load_rgbx(s), wasm_i32x4_splat(w[t])));
      }
      v128_t bytes = clip8x16(acc, acc, acc, acc);
      wasm_v128_store16_lane(o, bytes, 0);
      wasm_v128_store8_lane(o + 2, bytes, 2);
    }
  }
}

/*
 * Vertical pass: output row y is the weighted sum of count[y] rows of `stride` bytes starting at
 * row first_row[y] of src; 16 bytes (any mix of channels: every byte has the same weight) per
 * step. The last step of a row may run past `stride`; those bytes are overwritten by the next row
 * or land in the spare bytes.
 */
__attribute__((export_name("resample_columns")))
void resample_columns(const uint8_t *src, int32_t stride, int32_t out_height, const int32_t *first_row,
                      const int32_t *count, const int32_t *weights, int32_t taps, uint8_t *out) {
  const v128_t half = wasm_i32x4_splat(1 << (PRECISION_BITS - 1));
  for (int32_t y = 0; y < out_height; y++) {
    const uint8_t *top = src + first_row[y] * stride;
    const int32_t *w = weights + y * taps;
    const int32_t n = count[y];
    uint8_t *o = out + y * stride;
    for (int32_t i = 0; i < stride; i += 16) {
      v128_t a0 = half, a1 = half, a2 = half, a3 = half;
      const uint8_t *s = top + i;
      for (int32_t t = 0; t < n; t++, s += stride) {
        v128_t k = wasm_i32x4_splat(w[t]);
        v128_t p = wasm_v128_load(s);
        v128_t lo = wasm_u16x8_extend_low_u8x16(p);
        v128_t hi = wasm_u16x8_extend_high_u8x16(p);
        a0 = wasm_i32x4_add(a0, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(lo), k));
        a1 = wasm_i32x4_add(a1, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(lo), k));
        a2 = wasm_i32x4_add(a2, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(hi), k));
        a3 = wasm_i32x4_add(a3, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(hi), k));
      }
      wasm_v128_store(o + i, clip8x16(a0, a1, a2, a3));
    }
  }
}
