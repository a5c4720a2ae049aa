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

/* A byte that a swizzle turns into 0 (any index past 15 does). */
#define ZERO -128

/*
 * The taps of four output pixels as the three vectors of 16-bit pairs their dot products take.
 * Output pixel dx blends the source pixels at bytes tap[dx] and tap[dx] + 3: OpenCV's second tap
 * is the next pixel, or at the right edge has weight 0 (cv-resize-wasm.ts checks this), so one
 * 8-byte load holds both, and its bytes past the row (the spare bytes at the image's end) add
 * nothing. Pixels a, b, c, d give the lanes (aR aG aB bR), (bG bB cR cG), (cB dR dG dB), each a
 * pair R0 R1 of the two taps' bytes widened to 16 bits: twelve sums in three dot products, where a
 * pixel a vector left a quarter of each unused. Two 8-byte loads per vector, the swizzles
 * interleaving and widening at once (out-of-range indices give the zero high bytes).
 */
static inline void tap_pairs(const uint8_t *row, const int32_t *tap, v128_t *v0, v128_t *v1, v128_t *v2) {
  const v128_t ab = wasm_v128_load64_lane(row + tap[1], wasm_v128_load64_zero(row + tap[0]), 1);
  const v128_t cd = wasm_v128_load64_lane(row + tap[3], wasm_v128_load64_zero(row + tap[2]), 1);
  *v0 = wasm_i8x16_swizzle(ab, wasm_i8x16_const(0, ZERO, 3, ZERO, 1, ZERO, 4, ZERO, 2, ZERO, 5, ZERO, 8, ZERO, 11, ZERO));
  *v1 = wasm_v128_or(
      wasm_i8x16_swizzle(ab, wasm_i8x16_const(9, ZERO, 12, ZERO, 10, ZERO, 13, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)),
      wasm_i8x16_swizzle(cd, wasm_i8x16_const(ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, 0, ZERO, 3, ZERO, 1, ZERO, 4, ZERO)));
  *v2 = wasm_i8x16_swizzle(cd, wasm_i8x16_const(2, ZERO, 5, ZERO, 8, ZERO, 11, ZERO, 9, ZERO, 12, ZERO, 10, ZERO, 13, ZERO));
}

/*
 * Horizontal pass of one source row: out[dx * 3 + c] = row[tap[dx] + c] * w0 + row[tap[dx] + 3 + c] * w1
 * as int32, four pixels a step. `weights` holds each step's three vectors of (w0, w1) 16-bit pairs,
 * lane by lane as tap_pairs lays out the pixels (both weights <= 2^11); `tap` and `weights` are
 * padded to a whole step (weight 0), whose sums land in the spare values after the row.
 */
static void filter_row(const uint8_t *row, const int32_t *tap, const int32_t *weights, int32_t width, int32_t *out) {
  for (int32_t dx = 0; dx < width; dx += 4, tap += 4, weights += 12, out += 12) {
    v128_t v0, v1, v2;
    tap_pairs(row, tap, &v0, &v1, &v2);
    wasm_v128_store(out, wasm_i32x4_dot_i16x8(v0, wasm_v128_load(weights)));
    wasm_v128_store(out + 4, wasm_i32x4_dot_i16x8(v1, wasm_v128_load(weights + 4)));
    wasm_v128_store(out + 8, wasm_i32x4_dot_i16x8(v2, wasm_v128_load(weights + 8)));
  }
}

/*
 * filter_row on two source rows at once, for an output row whose two rows are both new (every
 * row of a reduction): each step's taps and weights are read once.
 */
static void filter_two_rows(const uint8_t *row_a, const uint8_t *row_b, const int32_t *tap, const int32_t *weights, int32_t width,
                            int32_t *out_a, int32_t *out_b) {
  for (int32_t dx = 0; dx < width; dx += 4, tap += 4, weights += 12, out_a += 12, out_b += 12) {
    const v128_t w0 = wasm_v128_load(weights), w1 = wasm_v128_load(weights + 4), w2 = wasm_v128_load(weights + 8);
    v128_t v0, v1, v2;
    tap_pairs(row_a, tap, &v0, &v1, &v2);
    wasm_v128_store(out_a, wasm_i32x4_dot_i16x8(v0, w0));
    wasm_v128_store(out_a + 4, wasm_i32x4_dot_i16x8(v1, w1));
    wasm_v128_store(out_a + 8, wasm_i32x4_dot_i16x8(v2, w2));
    tap_pairs(row_b, tap, &v0, &v1, &v2);
    wasm_v128_store(out_b, wasm_i32x4_dot_i16x8(v0, w0));
    wasm_v128_store(out_b + 4, wasm_i32x4_dot_i16x8(v1, w1));
    wasm_v128_store(out_b + 8, wasm_i32x4_dot_i16x8(v2, w2));
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
 * Output rows of the resize of a src_height-row image of src_row_bytes per row into rows of
 * out_width RGB pixels, out_height of them from `out`, in bands (src/imaging/cv-resize-wasm.ts):
 * `src` holds the source rows the band reads, from image row src_first_row on. Output row dy
 * blends source rows y_index[dy] and y_index[dy] + 1 (clamped into the image) with weights
 * y_w0[dy], y_w1[dy]; columns as filter_row's `tap` and `weights` (padded to a multiple of four
 * columns). `rows` is scratch for two horizontally filtered rows (2 * (out_width * 3 + 16) int32s:
 * the vector loops run up to 16 values past a row); as source rows only move down, a filtered row
 * is reused when the next output row reads it again, also across bands: `cache` holds which image
 * rows the two buffers hold and which of them is row0 ({-1, -1, 0} before the first band).
 */
__attribute__((export_name("resize_cv_linear")))
void resize_cv_linear(const uint8_t *src, int32_t src_row_bytes, int32_t src_first_row, int32_t src_height, int32_t out_width,
                      int32_t out_height, const int32_t *tap, const int32_t *x_weights, const int32_t *y_index,
                      const int32_t *y_w0, const int32_t *y_w1, int32_t *rows, int32_t *cache, uint8_t *out) {
  const int32_t row_len = out_width * 3;
  int32_t *row0 = cache[2] ? rows + row_len + 16 : rows, *row1 = cache[2] ? rows : rows + row_len + 16;
  int32_t have0 = cache[0], have1 = cache[1];
  for (int32_t dy = 0; dy < out_height; dy++) {
    const int32_t sy = y_index[dy];
    const int32_t y0 = sy < 0 ? 0 : sy > src_height - 1 ? src_height - 1 : sy;
    const int32_t y1 = sy + 1 < 0 ? 0 : sy + 1 > src_height - 1 ? src_height - 1 : sy + 1;
    const uint8_t *top = src + (y0 - src_first_row) * src_row_bytes, *bottom = src + (y1 - src_first_row) * src_row_bytes;
    if (have0 != y0 && have1 != y0 && have1 != y1 && y0 != y1) {
      filter_two_rows(top, bottom, tap, x_weights, out_width, row0, row1);
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
        filter_row(top, tap, x_weights, out_width, row0);
      }
      have0 = y0;
    }
    if (have1 != y1) {
      filter_row(bottom, tap, x_weights, out_width, row1);
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
  cache[0] = have0;
  cache[1] = have1;
  cache[2] = row0 != rows;
}
