/*
 * Pillow's PERSPECTIVE transform with the BICUBIC filter for RGB images (Geometry.c: the
 * projective map per output pixel, bicubic_filter32RGB), as src/imaging/pil-perspective.ts does
 * it: the same double operations in the same order, so the same bytes. WebAssembly has no fused
 * multiply-add for the compiler to contract them into, and f64x2 lanes round as scalars do.
 *
 * Per pixel, each channel's four rows are filtered across their four columns two rows at a time
 * (f64x2 lanes: rows 1 and 2, rows 3 and 4), then down the column in scalar. A pixel whose four
 * columns are not side by side in the image (clamped at its left or right edge) is filtered in
 * scalar throughout.
 *
 * `src` holds only the part of the image the crop reads (left, top: where it starts in the image;
 * `stride` bytes per row, `columns` x `rows` pixels, 16 spare bytes after it); taps are clamped
 * to the whole image (image_width x image_height) as Pillow does, then read from the part.
 */
#include <stdint.h>
#include <wasm_simd128.h>

/* Pillow's cubic kernel (a = -1) through four samples at fractional offset d past v2. */
static inline double cubic(double v1, double v2, double v3, double v4, double d) {
  const double p2 = -v1 + v3;
  const double p3 = 2 * (v1 - v2) + v3 - v4;
  const double p4 = -v1 + v2 - v3 + v4;
  return v2 + d * (p2 + d * (p3 + d * p4));
}

/* `cubic` on two lanes at once. */
static inline v128_t cubic2(v128_t v1, v128_t v2, v128_t v3, v128_t v4, v128_t d) {
  const v128_t p2 = wasm_f64x2_add(wasm_f64x2_neg(v1), v3);
  const v128_t p3 = wasm_f64x2_sub(wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_const_splat(2), wasm_f64x2_sub(v1, v2)), v3), v4);
  const v128_t p4 = wasm_f64x2_add(wasm_f64x2_sub(wasm_f64x2_add(wasm_f64x2_neg(v1), v2), v3), v4);
  return wasm_f64x2_add(v2, wasm_f64x2_mul(d, wasm_f64x2_add(p2, wasm_f64x2_mul(d, wasm_f64x2_add(p3, wasm_f64x2_mul(d, p4))))));
}

static inline int32_t clamp(int32_t i, int32_t size) {
  return i < 0 ? 0 : i < size ? i : size - 1;
}

/* Clamped to [0, 255], then truncated (v is finite, as every term is: the conversion cannot trap). */
static inline uint8_t to_byte(double v) {
  return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(int32_t)v;
}

/*
 * Channel C's four columns in rows a and b (16 bytes each from the pixel's first column) as
 * f64x2 (row a, row b) for each column.
 */
#define ROW_PAIR(a, b, C, t0, t1, t2, t3)                                                                               \
  do {                                                                                                                  \
    const v128_t bytes = wasm_i8x16_shuffle(a, b, C, 16 + C, C + 3, 19 + C, C + 6, 22 + C, C + 9, 25 + C, 0, 0, 0, 0, 0, \
                                            0, 0, 0);                                                                   \
    const v128_t wide = wasm_u16x8_extend_low_u8x16(bytes);                                                             \
    const v128_t low = wasm_u32x4_extend_low_u16x8(wide), high = wasm_u32x4_extend_high_u16x8(wide);                    \
    t0 = wasm_f64x2_convert_low_i32x4(low);                                                                             \
    t1 = wasm_f64x2_convert_low_i32x4(wasm_i64x2_shuffle(low, low, 1, 1));                                              \
    t2 = wasm_f64x2_convert_low_i32x4(high);                                                                            \
    t3 = wasm_f64x2_convert_low_i32x4(wasm_i64x2_shuffle(high, high, 1, 1));                                            \
  } while (0)

/* Channel C of the pixel whose four rows start at r1..r4 (their first column). */
#define FILTER_CHANNEL(C, out)                                                                                          \
  do {                                                                                                                  \
    v128_t t0, t1, t2, t3;                                                                                              \
    ROW_PAIR(row1, row2, C, t0, t1, t2, t3);                                                                            \
    const v128_t upper = cubic2(t0, t1, t2, t3, vdx);                                                                   \
    ROW_PAIR(row3, row4, C, t0, t1, t2, t3);                                                                            \
    const v128_t lower = cubic2(t0, t1, t2, t3, vdx);                                                                   \
    out = to_byte(cubic(wasm_f64x2_extract_lane(upper, 0), wasm_f64x2_extract_lane(upper, 1), wasm_f64x2_extract_lane(lower, 0), \
                        wasm_f64x2_extract_lane(lower, 1), dy));                                                        \
  } while (0)

/*
 * The width x height crop whose pixel (x, y) samples the image at H(x + 0.5, y + 0.5), H given by
 * coefficients a[0..7], into `out` (RGB). Returns 0, with `out` incomplete, when a tap falls
 * outside the part copied in (a quadrilateral whose samples leave its own bounding box): the
 * caller then crops in JavaScript.
 */
__attribute__((export_name("perspective_bicubic")))
int32_t perspective_bicubic(const uint8_t *src, int32_t stride, int32_t left, int32_t top, int32_t columns, int32_t rows,
                            int32_t image_width, int32_t image_height, const double *a, int32_t width, int32_t height,
                            uint8_t *out) {
  const double w = image_width, h = image_height;
  for (int32_t y = 0; y < height; y++) {
    const double yin_row = y + 0.5;
    for (int32_t x = 0; x < width; x++, out += 3) {
      const double xin_col = x + 0.5;
      const double den = a[6] * xin_col + a[7] * yin_row + 1;
      const double xin = (a[0] * xin_col + a[1] * yin_row + a[2]) / den;
      const double yin = (a[3] * xin_col + a[4] * yin_row + a[5]) / den;
      out[0] = out[1] = out[2] = 0;
      /* Outside the image (or NaN): black. */
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) continue;
      const double fx = xin - 0.5, fy = yin - 0.5;
      const double xf = __builtin_floor(fx) - 1, yf = __builtin_floor(fy) - 1;
      const double dx = fx - (xf + 1), dy = fy - (yf + 1);
      const int32_t xi = (int32_t)xf, yi = (int32_t)yf;
      const int32_t c0 = clamp(xi, image_width), c3 = clamp(xi + 3, image_width);
      /* The first row clamps to the image; a later row outside it repeats the previous one. */
      const int32_t r1 = clamp(yi, image_height);
      const int32_t r2 = yi + 1 >= 0 && yi + 1 < image_height ? yi + 1 : r1;
      const int32_t r3 = yi + 2 >= 0 && yi + 2 < image_height ? yi + 2 : r2;
      const int32_t r4 = yi + 3 >= 0 && yi + 3 < image_height ? yi + 3 : r3;
      if (c0 < left || c3 >= left + columns || r1 < top || r4 >= top + rows) return 0;
      const uint8_t *p1 = src + (r1 - top) * stride, *p2 = src + (r2 - top) * stride;
      const uint8_t *p3 = src + (r3 - top) * stride, *p4 = src + (r4 - top) * stride;
      if (c3 - c0 == 3) {
        const int32_t first = (c0 - left) * 3;
        const v128_t row1 = wasm_v128_load(p1 + first), row2 = wasm_v128_load(p2 + first);
        const v128_t row3 = wasm_v128_load(p3 + first), row4 = wasm_v128_load(p4 + first);
        const v128_t vdx = wasm_f64x2_splat(dx);
        FILTER_CHANNEL(0, out[0]);
        FILTER_CHANNEL(1, out[1]);
        FILTER_CHANNEL(2, out[2]);
        continue;
      }
      const int32_t k0 = (c0 - left) * 3, k1 = (clamp(xi + 1, image_width) - left) * 3;
      const int32_t k2 = (clamp(xi + 2, image_width) - left) * 3, k3 = (c3 - left) * 3;
      for (int32_t c = 0; c < 3; c++) {
        out[c] = to_byte(cubic(cubic(p1[k0 + c], p1[k1 + c], p1[k2 + c], p1[k3 + c], dx), cubic(p2[k0 + c], p2[k1 + c], p2[k2 + c], p2[k3 + c], dx),
                               cubic(p3[k0 + c], p3[k1 + c], p3[k2 + c], p3[k3 + c], dx), cubic(p4[k0 + c], p4[k1 + c], p4[k2 + c], p4[k3 + c], dx),
                               dy));
      }
    }
  }
  return 1;
}
