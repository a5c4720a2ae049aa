/*
 * OpenCV's 8-bit warpAffine with INTER_LINEAR and a black constant border (imgproc/src/imgwarp.cpp:
 * the fixed-point remap with INTER_BITS = 5) in WebAssembly SIMD, for 3-channel images, written
 * straight into a float32 tensor of three planes as (byte - offset) / divisor. The source
 * positions (1/32 pixel) are computed by src/imaging/cv-warp-affine.ts and copied in; the integer
 * operations per value are that file's, hence the same bytes before the normalisation.
 *
 * OpenCV's bilinear weights are (32 - fy)(32 - fx)·32 and so on, summed with 2^14 and shifted by
 * 15. Every weight is a multiple of 32, so the same value comes from the weights divided by 32
 * (at most 1024: 16-bit lanes), 2^9 and a shift by 10: (32·(2^9 + s)) >> 15 = (2^9 + s) >> 10.
 *
 * `src` holds only the part of the image the crop reads (left, top: where it starts in the image;
 * `stride` bytes per row, 16 spare bytes after it), so a face's crop does not copy the whole photo.
 */
#include <stdint.h>
#include <wasm_simd128.h>

static inline int32_t weight(int32_t fx, int32_t fy, int32_t right, int32_t bottom) {
  return (right ? fx : 32 - fx) * (bottom ? fy : 32 - fy);
}

/* For each 1/32 step (fy * 32 + fx): the upper and the lower row's pair of weights as 16-bit lanes. */
static int32_t pair_weights[32 * 32][2];
static int32_t pair_weights_ready;

static void fill_pair_weights(void) {
  for (int32_t fy = 0; fy < 32; fy++) {
    for (int32_t fx = 0; fx < 32; fx++) {
      pair_weights[fy * 32 + fx][0] = weight(fx, fy, 0, 0) | weight(fx, fy, 1, 0) << 16;
      pair_weights[fy * 32 + fx][1] = weight(fx, fy, 0, 1) | weight(fx, fy, 1, 1) << 16;
    }
  }
  pair_weights_ready = 1;
}

/*
 * The two neighbouring pixels at `p`, interleaved (R0 R1 G0 G1 B0 B1 ..) and widened to 16 bits:
 * one swizzle, whose out-of-range indices give the zero high bytes (Bun's JIT turns a constant
 * swizzle into one byte shuffle, but a shuffle into two and an OR, and a widening more).
 */
static inline v128_t neighbours(const uint8_t *p) {
  return wasm_i8x16_swizzle(wasm_v128_load(p), wasm_i8x16_const(0, -128, 3, -128, 1, -128, 4, -128, 2, -128, 5, -128, 6, -128, 7, -128));
}

/* One pixel's (r, g, b, -) when some of its four taps lie outside the image: those read as 0. */
static v128_t border_pixel(const uint8_t *src, int32_t stride, int32_t left, int32_t top, int32_t image_width, int32_t image_height,
                           int32_t row_x, int32_t row_y, int32_t col_x, int32_t col_y) {
  /* Sums wrap like OpenCV's int arithmetic (and the TypeScript's `| 0`). */
  const int32_t px = (int32_t)((uint32_t)row_x + (uint32_t)col_x) >> 5;
  const int32_t py = (int32_t)((uint32_t)row_y + (uint32_t)col_y) >> 5;
  const int32_t sx = px >> 5, sy = py >> 5, fx = px & 31, fy = py & 31;
  /* All four taps outside: black. */
  if (sx >= image_width || sx < -1 || sy >= image_height || sy < -1) return wasm_i32x4_const_splat(0);
  int32_t sums[3] = {512, 512, 512};
  for (int32_t dy = 0; dy < 2; dy++) {
    for (int32_t dx = 0; dx < 2; dx++) {
      const int32_t tx = sx + dx, ty = sy + dy;
      if (tx < 0 || tx >= image_width || ty < 0 || ty >= image_height) continue;
      const uint8_t *p = src + (ty - top) * stride + (tx - left) * 3;
      const int32_t w = weight(fx, fy, dx, dy);
      for (int32_t c = 0; c < 3; c++) sums[c] += p[c] * w;
    }
  }
  return wasm_i32x4_make(sums[0] >> 10, sums[1] >> 10, sums[2] >> 10, 0);
}

/* One pixel's (r, g, b, -) from its four taps, all inside the image: one dot product per row of two. */
static inline v128_t inner_pixel(const uint8_t *p, int32_t stride, int32_t step) {
  const int32_t *pair = pair_weights[step];
  const v128_t upper = wasm_i32x4_dot_i16x8(neighbours(p), wasm_i32x4_splat(pair[0]));
  const v128_t lower = wasm_i32x4_dot_i16x8(neighbours(p + stride), wasm_i32x4_splat(pair[1]));
  return wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_add(upper, lower), wasm_i32x4_const_splat(512)), 10);
}

/*
 * Writes `count` (1 to 4) values of one channel to `out` as (value - offset) / divisor in float32:
 * two correctly rounded float operations, hence the float a table of that normalisation (computed
 * in double, stored as float32) holds; see cv-warp-affine-wasm.ts.
 */
static inline void store_channel(v128_t channel, int32_t count, v128_t offset, v128_t divisor, float *out) {
  const v128_t values = wasm_f32x4_div(wasm_f32x4_sub(wasm_f32x4_convert_i32x4(channel), offset), divisor);
  if (count == 4) {
    wasm_v128_store(out, values);
    return;
  }
  if (count > 0) out[0] = wasm_f32x4_extract_lane(values, 0);
  if (count > 1) out[1] = wasm_f32x4_extract_lane(values, 1);
  if (count > 2) out[2] = wasm_f32x4_extract_lane(values, 2);
}

/*
 * Writes `count` (1 to 4) pixels, (r, g, b, -) each, to the three planes at `out`. Each value is a
 * byte (0 to 255) by then, so the four pixels narrow to the bytes r0 g0 b0 - r1 g1 b1 - ..., and one
 * swizzle per channel gathers that channel's four bytes as i32 lanes: five single-input
 * instructions where a transpose by shuffles of two vectors took seven, each of which Bun's JIT
 * makes two byte shuffles and an OR. The unused fourth lane may saturate; it is dropped.
 */
static inline void store_pixels(v128_t p0, v128_t p1, v128_t p2, v128_t p3, int32_t count, v128_t offset, v128_t divisor, float *out,
                                int32_t plane) {
  const v128_t bytes = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(p0, p1), wasm_i16x8_narrow_i32x4(p2, p3));
  const int8_t z = -128;
  store_channel(wasm_i8x16_swizzle(bytes, wasm_i8x16_const(0, z, z, z, 4, z, z, z, 8, z, z, z, 12, z, z, z)), count, offset, divisor, out);
  store_channel(wasm_i8x16_swizzle(bytes, wasm_i8x16_const(1, z, z, z, 5, z, z, z, 9, z, z, z, 13, z, z, z)), count, offset, divisor, out + plane);
  store_channel(wasm_i8x16_swizzle(bytes, wasm_i8x16_const(2, z, z, z, 6, z, z, z, 10, z, z, z, 14, z, z, z)), count, offset, divisor,
                out + 2 * plane);
}

/*
 * Four pixels at a time: their source positions as one vector; when all their taps lie inside the
 * image (almost all of a face's crop), two dot products each, then one store per plane.
 */
__attribute__((export_name("warp_affine_planar")))
void warp_affine_planar(const uint8_t *src, int32_t stride, int32_t left, int32_t top, int32_t image_width, int32_t image_height,
                        const int32_t *col_x, const int32_t *col_y, const int32_t *row_x, const int32_t *row_y, int32_t width,
                        int32_t height, float offset, float divisor, float *out) {
  if (!pair_weights_ready) fill_pair_weights();
  const int32_t plane = width * height;
  const v128_t offsets = wasm_f32x4_splat(offset);
  const v128_t divisors = wasm_f32x4_splat(divisor);
  /* All four taps inside means 0 <= sx <= image_width - 2 (and so for y): one unsigned compare. */
  const v128_t x_limit = wasm_i32x4_splat(image_width - 1);
  const v128_t y_limit = wasm_i32x4_splat(image_height - 1);
  for (int32_t y = 0; y < height; y++) {
    const v128_t row_x_y = wasm_i32x4_splat(row_x[y]);
    const v128_t row_y_y = wasm_i32x4_splat(row_y[y]);
    for (int32_t x = 0; x < width; x += 4) {
      const int32_t count = width - x < 4 ? width - x : 4;
      /* Sums wrap like OpenCV's int arithmetic; the positions are in 1/32 pixel (lanes past the row's end are not used). */
      const v128_t px = wasm_i32x4_shr(wasm_i32x4_add(row_x_y, wasm_v128_load(col_x + x)), 5);
      const v128_t py = wasm_i32x4_shr(wasm_i32x4_add(row_y_y, wasm_v128_load(col_y + x)), 5);
      const v128_t sx = wasm_i32x4_shr(px, 5);
      const v128_t sy = wasm_i32x4_shr(py, 5);
      if (count == 4 && wasm_i32x4_all_true(wasm_v128_and(wasm_u32x4_lt(sx, x_limit), wasm_u32x4_lt(sy, y_limit)))) {
        const v128_t starts = wasm_i32x4_add(wasm_i32x4_mul(wasm_i32x4_sub(sy, wasm_i32x4_splat(top)), wasm_i32x4_splat(stride)),
                                             wasm_i32x4_mul(wasm_i32x4_sub(sx, wasm_i32x4_splat(left)), wasm_i32x4_const_splat(3)));
        const v128_t steps = wasm_v128_or(wasm_i32x4_shl(wasm_v128_and(py, wasm_i32x4_const_splat(31)), 5), wasm_v128_and(px, wasm_i32x4_const_splat(31)));
        store_pixels(inner_pixel(src + wasm_i32x4_extract_lane(starts, 0), stride, wasm_i32x4_extract_lane(steps, 0)),
                     inner_pixel(src + wasm_i32x4_extract_lane(starts, 1), stride, wasm_i32x4_extract_lane(steps, 1)),
                     inner_pixel(src + wasm_i32x4_extract_lane(starts, 2), stride, wasm_i32x4_extract_lane(steps, 2)),
                     inner_pixel(src + wasm_i32x4_extract_lane(starts, 3), stride, wasm_i32x4_extract_lane(steps, 3)), 4, offsets, divisors,
                     out + y * width + x, plane);
        continue;
      }
      /* Near the border, or the row's last pixels: one at a time, none past the row's end. */
      const v128_t none = wasm_i32x4_const_splat(0);
      store_pixels(border_pixel(src, stride, left, top, image_width, image_height, row_x[y], row_y[y], col_x[x], col_y[x]),
                   count > 1 ? border_pixel(src, stride, left, top, image_width, image_height, row_x[y], row_y[y], col_x[x + 1], col_y[x + 1]) : none,
                   count > 2 ? border_pixel(src, stride, left, top, image_width, image_height, row_x[y], row_y[y], col_x[x + 2], col_y[x + 2]) : none,
                   count > 3 ? border_pixel(src, stride, left, top, image_width, image_height, row_x[y], row_y[y], col_x[x + 3], col_y[x + 3]) : none,
                   count, offsets, divisors, out + y * width + x, plane);
    }
  }
}
