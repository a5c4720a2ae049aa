/*
 * OpenCV's 8-bit warpAffine with INTER_LINEAR and a black constant border (imgproc/src/imgwarp.cpp:
 * the fixed-point remap with INTER_BITS = 5) in WebAssembly SIMD, for 3-channel images, written
 * straight into a float32 tensor of three planes through a byte → value table. The source
 * positions (1/32 pixel) are computed by src/imaging/cv-warp-affine.ts and copied in; the integer
 * operations per value are that file's, hence the same bytes before the table.
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

__attribute__((export_name("warp_affine_planar")))
void warp_affine_planar(const uint8_t *src, int32_t stride, int32_t left, int32_t top, int32_t image_width, int32_t image_height,
                        const int32_t *col_x, const int32_t *col_y, const int32_t *row_x, const int32_t *row_y, int32_t width,
                        int32_t height, const float *table, float *out) {
  if (!pair_weights_ready) fill_pair_weights();
  const int32_t plane = width * height;
  const v128_t half = wasm_i32x4_const_splat(512);
  for (int32_t y = 0; y < height; y++) {
    for (int32_t x = 0; x < width; x++) {
      const int32_t i = y * width + x;
      /* Unsigned sums wrap like OpenCV's int arithmetic (and the TypeScript's `| 0`). */
      const int32_t px = (int32_t)((uint32_t)row_x[y] + (uint32_t)col_x[x]) >> 5;
      const int32_t py = (int32_t)((uint32_t)row_y[y] + (uint32_t)col_y[x]) >> 5;
      const int32_t sx = px >> 5, sy = py >> 5, fx = px & 31, fy = py & 31;
      int32_t r = 0, g = 0, b = 0;
      if (sx >= 0 && sx + 1 < image_width && sy >= 0 && sy + 1 < image_height) {
        /* All four taps inside: one dot product per row blends its two pixels in all three channels. */
        const uint8_t *p = src + (sy - top) * stride + (sx - left) * 3;
        const v128_t upper = neighbours(p);
        const v128_t lower = neighbours(p + stride);
        const int32_t *pair = pair_weights[fy * 32 + fx];
        const v128_t w_upper = wasm_i32x4_splat(pair[0]);
        const v128_t w_lower = wasm_i32x4_splat(pair[1]);
        const v128_t sum = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(upper, w_upper), wasm_i32x4_dot_i16x8(lower, w_lower)), half), 10);
        r = wasm_i32x4_extract_lane(sum, 0);
        g = wasm_i32x4_extract_lane(sum, 1);
        b = wasm_i32x4_extract_lane(sum, 2);
      } else if (sx < image_width && sx >= -1 && sy < image_height && sy >= -1) {
        /* On the border: the taps outside the image read as 0. */
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
        r = sums[0] >> 10;
        g = sums[1] >> 10;
        b = sums[2] >> 10;
      }
      out[i] = table[r];
      out[i + plane] = table[g];
      out[i + 2 * plane] = table[b];
    }
  }
}
