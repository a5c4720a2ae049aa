/*
 * Inner loops of OpenCV's 8-bit INTER_LINEAR resize (imgproc/src/resize.cpp: the fixed-point
 * HResizeLinear / VResizeLinear path with INTER_RESIZE_COEF_BITS = 11) in WebAssembly SIMD, for
 * 3-channel images. The source indices and weights are computed by src/imaging/cv-resize.ts and
 * copied in; the integer operations per value are that file's (and OpenCV's), hence the same bytes.
 *
 * Buffers are laid out by src/imaging/cv-resize.ts with 16 spare bytes after each, because both
 * passes read and write whole vectors past a row's end.
 */
#include <stdint.h>
#include <wasm_simd128.h>

/*
 * Horizontal pass of one source row: out[dx * 3 + c] = row[tap0[dx] + c] * w0 + row[tap1[dx] + c] * w1
 * as int32, the weights packed as the 16-bit pair (w0, w1) in weights[dx] (both <= 2^11). The
 * two taps' first four bytes go into one vector, whose swizzle interleaves them (R0 R1 G0 G1 B0
 * B1 ..) and widens them to 16 bits (out-of-range indices give the zero high bytes): one byte
 * shuffle in Bun's JIT, where a two-source shuffle is two and an OR. One dot product then gives
 * R, G and B; the fourth lane lands on the next pixel (overwritten) or the spare.
 */
static void filter_row(const uint8_t *row, const int32_t *tap0, const int32_t *tap1, const int32_t *weights,
                       int32_t width, int32_t *out) {
  const v128_t interleave = wasm_i8x16_const(0, -128, 4, -128, 1, -128, 5, -128, 2, -128, 6, -128, 3, -128, 7, -128);
  for (int32_t dx = 0; dx < width; dx++, out += 3) {
    const v128_t both = wasm_v128_load32_lane(row + tap1[dx], wasm_v128_load32_zero(row + tap0[dx]), 1);
    const v128_t pair = wasm_i8x16_swizzle(both, interleave);
    wasm_v128_store(out, wasm_i32x4_dot_i16x8(pair, wasm_i32x4_splat(weights[dx])));
  }
}

/*
 * filter_row on two source rows at once, for an output row whose two rows are both new (every
 * row of a reduction): each column's taps and weight are read, and the weight splatted, once.
 */
static void filter_two_rows(const uint8_t *row_a, const uint8_t *row_b, const int32_t *tap0, const int32_t *tap1,
                            const int32_t *weights, int32_t width, int32_t *out_a, int32_t *out_b) {
  const v128_t interleave = wasm_i8x16_const(0, -128, 4, -128, 1, -128, 5, -128, 2, -128, 6, -128, 3, -128, 7, -128);
  for (int32_t dx = 0; dx < width; dx++, out_a += 3, out_b += 3) {
    const int32_t t0 = tap0[dx], t1 = tap1[dx];
    const v128_t w = wasm_i32x4_splat(weights[dx]);
    const v128_t a = wasm_v128_load32_lane(row_a + t1, wasm_v128_load32_zero(row_a + t0), 1);
    const v128_t b = wasm_v128_load32_lane(row_b + t1, wasm_v128_load32_zero(row_b + t0), 1);
    wasm_v128_store(out_a, wasm_i32x4_dot_i16x8(wasm_i8x16_swizzle(a, interleave), w));
    wasm_v128_store(out_b, wasm_i32x4_dot_i16x8(wasm_i8x16_swizzle(b, interleave), w));
  }
}

/*
 * x >> 16 for x >= 0: each lane's two high bytes moved down. One byte shuffle in Bun's JIT, where
 * a vector shift by a constant is four instructions.
 */
static inline v128_t high_halves(v128_t x) {
  return wasm_i8x16_swizzle(x, wasm_i8x16_const(2, 3, -128, -128, 6, 7, -128, -128, 10, 11, -128, -128, 14, 15, -128, -128));
}

/*
 * OpenCV's VResizeLinear on four sums per row, before its final (+2) >> 2:
 * ((b0 * (r0 >> 4)) >> 16) + ((b1 * (r1 >> 4)) >> 16). The sums are >= 0 and below 2^19, the
 * weights at most 2^11, so each product is >= 0 and below 2^27, and each term below 2^11.
 */
static inline v128_t vertical4(const int32_t *r0, const int32_t *r1, v128_t b0, v128_t b1) {
  v128_t a = high_halves(wasm_i32x4_mul(b0, wasm_i32x4_shr(wasm_v128_load(r0), 4)));
  v128_t b = high_halves(wasm_i32x4_mul(b1, wasm_i32x4_shr(wasm_v128_load(r1), 4)));
  return wasm_i32x4_add(a, b);
}

/* (+2) >> 2 on eight vertical4 values, narrowed to 16 bits first (they are below 2^12): one shift for eight. */
static inline v128_t round_quarter(v128_t four, v128_t next_four) {
  return wasm_i16x8_shr(wasm_i16x8_add(wasm_i16x8_narrow_i32x4(four, next_four), wasm_i16x8_const_splat(2)), 2);
}

/*
 * The resize of a src_height-row image of src_row_bytes per row into out_height rows of
 * out_width RGB pixels. Output row dy blends source rows y_index[dy] and y_index[dy] + 1 (clamped
 * into the image) with weights y_w0[dy], y_w1[dy]. `rows` is scratch for two horizontally
 * filtered rows (2 * (out_width * 3 + 16) int32s: the vector loops run up to 16 values past a
 * row); as source rows only move down, a filtered row
 * is reused when the next output row reads it again.
 */
__attribute__((export_name("resize_cv_linear")))
void resize_cv_linear(const uint8_t *src, int32_t src_row_bytes, int32_t src_height, int32_t out_width, int32_t out_height,
                      const int32_t *tap0, const int32_t *tap1, const int32_t *x_weights, const int32_t *y_index,
                      const int32_t *y_w0, const int32_t *y_w1, int32_t *rows, uint8_t *out) {
  const int32_t row_len = out_width * 3;
  int32_t *row0 = rows, *row1 = rows + row_len + 16;
  int32_t have0 = -1, have1 = -1;
  for (int32_t dy = 0; dy < out_height; dy++) {
    const int32_t sy = y_index[dy];
    const int32_t y0 = sy < 0 ? 0 : sy > src_height - 1 ? src_height - 1 : sy;
    const int32_t y1 = sy + 1 < 0 ? 0 : sy + 1 > src_height - 1 ? src_height - 1 : sy + 1;
    if (have0 != y0 && have1 != y0 && have1 != y1 && y0 != y1) {
      filter_two_rows(src + y0 * src_row_bytes, src + y1 * src_row_bytes, tap0, tap1, x_weights, out_width, row0, row1);
      have0 = y0;
      have1 = y1;
    }
    if (have0 != y0) {
      if (have1 == y0) {
        int32_t *swap = row0;
        row0 = row1;
        row1 = swap;
        have1 = -1;
      } else {
        filter_row(src + y0 * src_row_bytes, tap0, tap1, x_weights, out_width, row0);
      }
      have0 = y0;
    }
    if (have1 != y1) {
      filter_row(src + y1 * src_row_bytes, tap0, tap1, x_weights, out_width, row1);
      have1 = y1;
    }
    const v128_t b0 = wasm_i32x4_splat(y_w0[dy]), b1 = wasm_i32x4_splat(y_w1[dy]);
    uint8_t *o = out + dy * row_len;
    for (int32_t i = 0; i < row_len; i += 16) {
      /* The values are >= 0; the saturating narrowing clamps them to 255 as OpenCV's saturate_cast. */
      v128_t lo = round_quarter(vertical4(row0 + i, row1 + i, b0, b1), vertical4(row0 + i + 4, row1 + i + 4, b0, b1));
      v128_t hi = round_quarter(vertical4(row0 + i + 8, row1 + i + 8, b0, b1), vertical4(row0 + i + 12, row1 + i + 12, b0, b1));
      wasm_v128_store(o + i, wasm_u8x16_narrow_i16x8(lo, hi));
    }
  }
}
