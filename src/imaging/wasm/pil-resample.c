/*
 * Inner loops of Pillow's 8-bit resampling passes (Resample.c: ImagingResampleHorizontal_8bpc,
 * ImagingResampleVertical_8bpc) in WebAssembly SIMD. The fixed-point coefficient tables are
 * computed by src/imaging/pil-resample.ts and copied in, so these loops only do the multiply-adds
 * and the clip8. Their sums are Pillow's int32 sums exactly: all arithmetic here is modulo 2^32
 * (wasm's i32 lanes wrap, as the JS version's Math.imul / `| 0` and Pillow's C ints do), where
 * neither the order of the additions nor splitting a weight into parts changes the result.
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

/*
 * The RGB pixels at p and p + 3 as the 16-bit lanes R0 R1 G0 G1 B0 B1 0 0: ready for a dot product
 * with a weight pair, which yields R, G, B (and a zero) as i32 lanes. A swizzle, whose
 * out-of-range indices give the zeros: Bun's JIT makes a constant swizzle one byte shuffle, but a
 * shuffle with a zero vector two and an OR (the horizontal pass ran 20 % slower so).
 */
static inline v128_t rgb_pair(const uint8_t *p) {
  return wasm_i8x16_swizzle(wasm_v128_load(p), wasm_i8x16_const(0, -128, 3, -128, 1, -128, 4, -128, 2, -128, 5, -128, -128, -128, -128, -128));
}

/* Two 16-bit weights as one int32: the lane pair (first, second) of a dot product. */
static inline int32_t pack_pair(int32_t first, int32_t second) {
  return (int32_t)(((uint32_t)first & 0xffff) | ((uint32_t)second << 16));
}

/*
 * Dot products of 16-bit lanes (i32x4.dot_i16x8_s, x86's pmaddwd: two multiply-adds per i32 lane
 * in one instruction, against four i32 multiplies of i32x4.mul) need 16-bit weights, so each
 * weight is split: w = hi * 2^15 + lo with 0 <= lo < 2^15; hi fits i16 for any |w| < 2^30, far
 * beyond Pillow's normalised weights (about 2^22 for a weight of 1). The two sums are recombined
 * as (sum of hi terms) * 2^15 + (sum of lo terms), which is the sum of w terms modulo 2^32.
 */
#define WEIGHT_HI(w) ((w) >> 15)
#define WEIGHT_LO(w) ((w) & 0x7fff)

static inline v128_t recombine(v128_t hi_sum, v128_t lo_sum) {
  return wasm_i32x4_add(wasm_i32x4_shl(hi_sum, 15), lo_sum);
}

/*
 * Packs each output's weights as (hi, lo) pairs of taps, an odd last tap paired with weight 0:
 * 2 * ((taps + 1) / 2) int32s per output, the number returned. Once per axis and call: every row
 * (horizontal) or every column block (vertical) uses the same pairs.
 */
__attribute__((export_name("pack_pairs")))
int32_t pack_pairs(int32_t outputs, const int32_t *count, const int32_t *weights, int32_t taps, int32_t *pairs) {
  const int32_t pair_slots = (taps + 1) / 2 * 2;
  for (int32_t x = 0; x < outputs; x++) {
    const int32_t *w = weights + x * taps;
    int32_t *p = pairs + x * pair_slots;
    for (int32_t t = 0, n = count[x]; t < n; t += 2, p += 2) {
      const int32_t w1 = t + 1 < n ? w[t + 1] : 0;
      p[0] = pack_pair(WEIGHT_HI(w[t]), WEIGHT_HI(w1));
      p[1] = pack_pair(WEIGHT_LO(w[t]), WEIGHT_LO(w1));
    }
  }
  return pair_slots;
}

/*
 * Horizontal pass over `rows` RGB rows of `src_row_bytes` each into rows of `out_width` pixels.
 * Output pixel x reads count[x] source pixels from byte first_byte[x] with the weight pairs
 * pack_pairs made (`pair_slots` int32s per output pixel); two taps per step (an odd last one
 * paired with weight 0). Four rows per sweep, so that each pair's two weight splats and the loop's
 * bookkeeping serve four rows: the CLIP input's pass took 1.53 ms instead of 1.70 with two rows a
 * sweep, the OCR detector input's 4.07 instead of 4.50. Row k's bytes are lanes 4k to 4k + 2 of
 * the result. Past the last row, a sweep reads its first row again and writes nothing for it.
 */
__attribute__((export_name("resample_rows")))
void resample_rows(const uint8_t *src, int32_t src_row_bytes, int32_t rows, int32_t out_width,
                   const int32_t *first_byte, const int32_t *count, const int32_t *pairs, int32_t pair_slots, uint8_t *out) {
  const v128_t half = wasm_i32x4_splat(1 << (PRECISION_BITS - 1));
  const v128_t zero = wasm_i32x4_const_splat(0);
  const int32_t out_row = out_width * 3;
  for (int32_t y = 0; y < rows; y += 4) {
    const int32_t left = rows - y;
    const int32_t r1 = left > 1 ? src_row_bytes : 0, r2 = left > 2 ? 2 * src_row_bytes : 0, r3 = left > 3 ? 3 * src_row_bytes : 0;
    const uint8_t *row = src + y * src_row_bytes;
    uint8_t *o = out + y * out_row;
    for (int32_t x = 0; x < out_width; x++, o += 3) {
      v128_t h0 = zero, l0 = half, h1 = zero, l1 = half, h2 = zero, l2 = half, h3 = zero, l3 = half;
      const uint8_t *s = row + first_byte[x];
      const int32_t *p = pairs + x * pair_slots;
      for (const int32_t *end = p + (count[x] + 1) / 2 * 2; p < end; p += 2, s += 6) {
        const v128_t wh = wasm_i32x4_splat(p[0]);
        const v128_t wl = wasm_i32x4_splat(p[1]);
        const v128_t q0 = rgb_pair(s), q1 = rgb_pair(s + r1), q2 = rgb_pair(s + r2), q3 = rgb_pair(s + r3);
        h0 = wasm_i32x4_add(h0, wasm_i32x4_dot_i16x8(q0, wh));
        l0 = wasm_i32x4_add(l0, wasm_i32x4_dot_i16x8(q0, wl));
        h1 = wasm_i32x4_add(h1, wasm_i32x4_dot_i16x8(q1, wh));
        l1 = wasm_i32x4_add(l1, wasm_i32x4_dot_i16x8(q1, wl));
        h2 = wasm_i32x4_add(h2, wasm_i32x4_dot_i16x8(q2, wh));
        l2 = wasm_i32x4_add(l2, wasm_i32x4_dot_i16x8(q2, wl));
        h3 = wasm_i32x4_add(h3, wasm_i32x4_dot_i16x8(q3, wh));
        l3 = wasm_i32x4_add(l3, wasm_i32x4_dot_i16x8(q3, wl));
      }
      const v128_t bytes = clip8x16(recombine(h0, l0), recombine(h1, l1), recombine(h2, l2), recombine(h3, l3));
      wasm_v128_store16_lane(o, bytes, 0);
      wasm_v128_store8_lane(o + 2, bytes, 2);
      if (r1) {
        wasm_v128_store16_lane(o + out_row, bytes, 2);
        wasm_v128_store8_lane(o + out_row + 2, bytes, 6);
      }
      if (r2) {
        wasm_v128_store16_lane(o + 2 * out_row, bytes, 4);
        wasm_v128_store8_lane(o + 2 * out_row + 2, bytes, 10);
      }
      if (r3) {
        wasm_v128_store16_lane(o + 3 * out_row, bytes, 6);
        wasm_v128_store8_lane(o + 3 * out_row + 2, bytes, 14);
      }
    }
  }
}

/*
 * Adds taps t and t + 1 (rows a and b, 16 bytes each, interleaved byte by byte) to the sums of
 * hi terms h[0..3] and lo terms l[0..3].
 */
static inline void accumulate_pair(v128_t *h, v128_t *l, const uint8_t *a, const uint8_t *b, v128_t wh, v128_t wl) {
  v128_t ra = wasm_v128_load(a), rb = wasm_v128_load(b);
  v128_t lo = wasm_i8x16_shuffle(ra, rb, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  v128_t hi = wasm_i8x16_shuffle(ra, rb, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128_t q0 = wasm_u16x8_extend_low_u8x16(lo), q1 = wasm_u16x8_extend_high_u8x16(lo);
  v128_t q2 = wasm_u16x8_extend_low_u8x16(hi), q3 = wasm_u16x8_extend_high_u8x16(hi);
  h[0] = wasm_i32x4_add(h[0], wasm_i32x4_dot_i16x8(q0, wh));
  h[1] = wasm_i32x4_add(h[1], wasm_i32x4_dot_i16x8(q1, wh));
  h[2] = wasm_i32x4_add(h[2], wasm_i32x4_dot_i16x8(q2, wh));
  h[3] = wasm_i32x4_add(h[3], wasm_i32x4_dot_i16x8(q3, wh));
  l[0] = wasm_i32x4_add(l[0], wasm_i32x4_dot_i16x8(q0, wl));
  l[1] = wasm_i32x4_add(l[1], wasm_i32x4_dot_i16x8(q1, wl));
  l[2] = wasm_i32x4_add(l[2], wasm_i32x4_dot_i16x8(q2, wl));
  l[3] = wasm_i32x4_add(l[3], wasm_i32x4_dot_i16x8(q3, wl));
}

/*
 * Vertical pass: output row y is the weighted sum of count[y] rows of `stride` bytes starting at
 * row first_row[y] of src; every byte of a row has the same weight, whatever its channel. 16
 * bytes per step, two taps at a time (an odd last tap is paired with weight 0), with the weight
 * pairs pack_pairs made (`pair_slots` int32s per output row). The last step of
 * a row may run past `stride`; those bytes are overwritten by the next row or land in the spare
 * bytes.
 */
__attribute__((export_name("resample_columns")))
void resample_columns(const uint8_t *src, int32_t stride, int32_t out_height, const int32_t *first_row,
                      const int32_t *count, const int32_t *pairs, int32_t pair_slots, uint8_t *out) {
  const v128_t half = wasm_i32x4_splat(1 << (PRECISION_BITS - 1));
  const v128_t zero = wasm_i32x4_splat(0);
  for (int32_t y = 0; y < out_height; y++) {
    const uint8_t *top = src + first_row[y] * stride;
    const int32_t *row_pairs = pairs + y * pair_slots;
    const int32_t n = count[y];
    uint8_t *o = out + y * stride;
    for (int32_t i = 0; i < stride; i += 16) {
      v128_t h[4] = {zero, zero, zero, zero}, l[4] = {half, half, half, half};
      const uint8_t *s = top + i;
      const int32_t *p = row_pairs;
      int32_t t = 0;
      for (; t + 1 < n; t += 2, p += 2, s += 2 * stride) {
        accumulate_pair(h, l, s, s + stride, wasm_i32x4_splat(p[0]), wasm_i32x4_splat(p[1]));
      }
      // The odd last tap, paired with weight 0: its second row is read but adds nothing.
      if (t < n) accumulate_pair(h, l, s, s, wasm_i32x4_splat(p[0]), wasm_i32x4_splat(p[1]));
      for (int k = 0; k < 4; k++) h[k] = recombine(h[k], l[k]);
      wasm_v128_store(o + i, clip8x16(h[0], h[1], h[2], h[3]));
    }
  }
}
