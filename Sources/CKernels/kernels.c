// PrivacyLab element-wise kernels; see include/ckernels.h for the contract.
//
// exp: Cody–Waite range reduction x = k·ln2 + r with |r| ≤ ln2/2 (ln2 split into a short
// high part and a correction so k·ln2_hi is exact), then a degree-6 minimax-style polynomial
// for eʳ (Cephes' expf coefficients), then scaling by 2ᵏ built from the exponent bits in two
// halves so that k ∈ [−126, 128] never leaves the normal range. Maximum error ≈ 1 ulp.
// tanh: for |x| < 0.625 an odd polynomial (Cephes' tanhf coefficients, no cancellation near 0);
// above, 1 − 2 / (e^{2|x|} + 1) with the sign restored. Both branches are computed and one is
// selected, so the loops have no branches and vectorise.
#include "ckernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

// No floating-point contraction in this file: every clone (AVX2 and baseline) rounds each
// multiply and add, so all give the same bits. Set here rather than by a compiler flag, so that
// the package needs no unsafe flags.
#pragma clang fp contract(off)

// √x without errno (the argument is never negative where it is used), so that loops calling it
// vectorise without -fno-math-errno.
#if defined(__has_builtin)
#if __has_builtin(__builtin_elementwise_sqrt)
#define PL_SQRT(x) __builtin_elementwise_sqrt(x)
#endif
#endif
#ifndef PL_SQRT
#define PL_SQRT(x) sqrtf(x)
#endif

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define PL_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define PL_CLONES
#endif

static inline float pl_bits_to_float(int32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline float pl_exp1(float x) {
    const float high = 88.72283935546875f;      // largest x with a finite result
    const float low = -87.33654022216797f;      // smallest x with a normal result
    const float log2e = 1.44269504088896341f;
    const float ln2High = 0.693359375f;         // 8 significant bits: k·ln2High is exact
    const float ln2Low = -2.12194440e-4f;
    const float roundingShift = 12582912.0f;    // 1.5·2²³: adding and subtracting rounds to an integer
    float xc = x > high ? high : x;
    xc = xc < low ? low : xc;
    float k = (xc * log2e + roundingShift) - roundingShift;
    float r = xc - k * ln2High;
    r = r - k * ln2Low;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    int32_t ki = (int32_t)k;
    int32_t half = ki / 2;
    float y = p * pl_bits_to_float((half + 127) << 23) * pl_bits_to_float((ki - half + 127) << 23);
    y = x > high ? INFINITY : y;
    y = x < low ? 0.0f : y;
    y = x != x ? x : y;
    return y;
}

static inline float pl_tanh1(float x) {
    float a = fabsf(x);
    float z = x * x;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    float e = pl_exp1(2.0f * a);
    float large = 1.0f - 2.0f / (e + 1.0f);
    large = copysignf(large, x);
    return a < 0.625f ? small : large;
}

PL_CLONES
void pl_exp(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = pl_exp1(x[i]);
}

PL_CLONES
float pl_exp_shifted_sum(const float *x, float *y, size_t n, float shift) {
    for (size_t i = 0; i < n; i++) y[i] = pl_exp1(x[i] - shift);
    float total = 0;
    for (size_t i = 0; i < n; i++) total += y[i];
    return total;
}

PL_CLONES
void pl_tanh(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = pl_tanh1(x[i]);
}

PL_CLONES
void pl_sigmoid(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float e = pl_exp1(-fabsf(v));
        float positive = 1.0f / (1.0f + e);
        y[i] = v >= 0 ? positive : e * positive;
    }
}

PL_CLONES
void pl_relu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
}

PL_CLONES
void pl_relu_backward(const float *g, const float *x, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? g[i] : 0.0f;
}

PL_CLONES
void pl_tanh_backward(const float *g, const float *t, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] * (1.0f - t[i] * t[i]);
}

PL_CLONES
void pl_sigmoid_backward(const float *g, const float *s, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = g[i] * s[i] * (1.0f - s[i]);
}

PL_CLONES
void pl_adam_update(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                    float beta1, float beta2, float epsilon, float stepSize, float inverseSqrtCorrection2,
                    float l2, float shrink) {
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * shrink;
        float d = g[i] + l2 * pi;
        float mi = beta1 * m[i] + c1 * d;
        float vi = beta2 * v[i] + c2 * d * d;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - stepSize * mi / (PL_SQRT(vi) * inverseSqrtCorrection2 + epsilon);
    }
}

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define PL_CLONES_INTEGER __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PL_CLONES_INTEGER
#endif

typedef uint64_t pl_u64x8 __attribute__((vector_size(64)));

// Unaligned vector load and store (macros: a function taking a 64-byte vector would change the
// calling convention between the clones).
#define PL_LOAD8(v, p) memcpy(&(v), (p), sizeof(pl_u64x8))
#define PL_STORE8(p, v) memcpy((p), &(v), sizeof(pl_u64x8))

// Register-blocked: a 4×16 tile of c (eight 8-lane vectors, AVX-512 registers) accumulates over
// the whole of k, so each step loads two vectors of b, broadcasts four elements of a and does
// eight vector multiply-adds (vpmullq + vpaddq) without touching c; then 4×8 tiles, then the
// last columns and rows with scalar loops. Wrapping unsigned arithmetic is exact in any order,
// so every clone gives the same result.
PL_CLONES_INTEGER
void pl_ring_matmul_accumulate(const uint64_t *restrict a, const uint64_t *restrict b, uint64_t *restrict c,
                               size_t m, size_t k, size_t n) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        const uint64_t *a0 = a + i * k, *a1 = a0 + k, *a2 = a1 + k, *a3 = a2 + k;
        uint64_t *c0 = c + i * n, *c1 = c0 + n, *c2 = c1 + n, *c3 = c2 + n;
        size_t j = 0;
        for (; j + 16 <= n; j += 16) {
            pl_u64x8 s00, s01, s10, s11, s20, s21, s30, s31;
            PL_LOAD8(s00, c0 + j); PL_LOAD8(s01, c0 + j + 8);
            PL_LOAD8(s10, c1 + j); PL_LOAD8(s11, c1 + j + 8);
            PL_LOAD8(s20, c2 + j); PL_LOAD8(s21, c2 + j + 8);
            PL_LOAD8(s30, c3 + j); PL_LOAD8(s31, c3 + j + 8);
            const uint64_t *bp = b + j;
            for (size_t p = 0; p < k; p++, bp += n) {
                pl_u64x8 b0, b1;
                PL_LOAD8(b0, bp); PL_LOAD8(b1, bp + 8);
                const uint64_t x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
                s00 += x0 * b0; s01 += x0 * b1;
                s10 += x1 * b0; s11 += x1 * b1;
                s20 += x2 * b0; s21 += x2 * b1;
                s30 += x3 * b0; s31 += x3 * b1;
            }
            PL_STORE8(c0 + j, s00); PL_STORE8(c0 + j + 8, s01);
            PL_STORE8(c1 + j, s10); PL_STORE8(c1 + j + 8, s11);
            PL_STORE8(c2 + j, s20); PL_STORE8(c2 + j + 8, s21);
            PL_STORE8(c3 + j, s30); PL_STORE8(c3 + j + 8, s31);
        }
        for (; j + 8 <= n; j += 8) {
            pl_u64x8 s0, s1, s2, s3;
            PL_LOAD8(s0, c0 + j); PL_LOAD8(s1, c1 + j); PL_LOAD8(s2, c2 + j); PL_LOAD8(s3, c3 + j);
            const uint64_t *bp = b + j;
            for (size_t p = 0; p < k; p++, bp += n) {
                pl_u64x8 v;
                PL_LOAD8(v, bp);
                s0 += a0[p] * v; s1 += a1[p] * v; s2 += a2[p] * v; s3 += a3[p] * v;
            }
            PL_STORE8(c0 + j, s0); PL_STORE8(c1 + j, s1); PL_STORE8(c2 + j, s2); PL_STORE8(c3 + j, s3);
        }
        if (j < n) {
            for (size_t p = 0; p < k; p++) {
                const uint64_t x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
                const uint64_t *restrict bp = b + p * n;
                for (size_t q = j; q < n; q++) {
                    const uint64_t v = bp[q];
                    c0[q] += x0 * v; c1[q] += x1 * v; c2[q] += x2 * v; c3[q] += x3 * v;
                }
            }
        }
    }
    for (; i < m; i++) {
        uint64_t *restrict ci = c + i * n;
        for (size_t p = 0; p < k; p++) {
            const uint64_t ai = a[i * k + p];
            const uint64_t *restrict bp = b + p * n;
            for (size_t j = 0; j < n; j++) ci[j] += ai * bp[j];
        }
    }
}

PL_CLONES
void pl_channel_sums(const float *x, size_t n, size_t c, size_t plane, float *out) {
    for (size_t ch = 0; ch < c; ch++) out[ch] = 0;
    for (size_t b = 0; b < n; b++) {
        for (size_t ch = 0; ch < c; ch++) {
            const float *row = x + (b * c + ch) * plane;
            float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            size_t i = 0;
            for (; i + 8 <= plane; i += 8)
                for (int l = 0; l < 8; l++) lanes[l] += row[i + l];
            float total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
            for (; i < plane; i++) total += row[i];
            out[ch] += total;
        }
    }
}

PL_CLONES
void pl_max_pool_2x2(const float *x, size_t planes, size_t h, size_t w, float *y, int64_t *indices) {
    const size_t oh = h / 2, ow = w / 2;
    for (size_t p = 0; p < planes; p++) {
        const float *base = x + p * h * w;
        for (size_t r = 0; r < oh; r++) {
            const float *top = base + 2 * r * w, *bottom = top + w;
            float *yr = y + (p * oh + r) * ow;
            int64_t *ir = indices + (p * oh + r) * ow;
            const int64_t topIndex = (int64_t)(p * h * w + 2 * r * w), bottomIndex = topIndex + (int64_t)w;
            for (size_t q = 0; q < ow; q++) {
                // The first maximum in the order top-left, top-right, bottom-left, bottom-right.
                float best = top[2 * q];
                int64_t at = topIndex + (int64_t)(2 * q);
                float v = top[2 * q + 1];
                at = v > best ? at + 1 : at;
                best = v > best ? v : best;
                v = bottom[2 * q];
                at = v > best ? bottomIndex + (int64_t)(2 * q) : at;
                best = v > best ? v : best;
                v = bottom[2 * q + 1];
                at = v > best ? bottomIndex + (int64_t)(2 * q + 1) : at;
                best = v > best ? v : best;
                yr[q] = best;
                ir[q] = at;
            }
        }
    }
}

// ChaCha12 keystream, sixteen blocks at a time: lane l of every vector belongs to block
// counter + l, so the 16 state words are 16 vectors of 16 lanes (AVX-512: one register each,
// and the rotations are single vprold instructions). The vectors are stored as they are, word w
// of the 16 blocks before word w + 1: a fixed, documented permutation of the standard keystream,
// identical in every clone because every clone computes the same 32-bit lanes.
typedef uint32_t pl_u32x16 __attribute__((vector_size(64)));

#define PL_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define PL_QUARTER(a, b, c, d)                                                                       \
    a += b; d ^= a; d = PL_ROTL(d, 16);                                                              \
    c += d; b ^= c; b = PL_ROTL(b, 12);                                                              \
    a += b; d ^= a; d = PL_ROTL(d, 8);                                                               \
    c += d; b ^= c; b = PL_ROTL(b, 7);

PL_CLONES_INTEGER
void pl_chacha12_groups(const uint32_t key[8], uint64_t counter, uint64_t *out, size_t groups) {
    pl_u32x16 k[8];
    for (int w = 0; w < 8; w++) {
        for (int l = 0; l < 16; l++) k[w][l] = key[w];
    }
    for (size_t g = 0; g < groups; g++) {
        const uint64_t base = counter + 16 * (uint64_t)g;
        pl_u32x16 lo, hi;
        for (int l = 0; l < 16; l++) {
            uint64_t c = base + (uint64_t)l;
            lo[l] = (uint32_t)c;
            hi[l] = (uint32_t)(c >> 32);
        }
        pl_u32x16 x0 = (pl_u32x16){0} + 0x61707865u, x1 = (pl_u32x16){0} + 0x3320646eu;
        pl_u32x16 x2 = (pl_u32x16){0} + 0x79622d32u, x3 = (pl_u32x16){0} + 0x6b206574u;
        pl_u32x16 x4 = k[0], x5 = k[1], x6 = k[2], x7 = k[3], x8 = k[4], x9 = k[5], x10 = k[6], x11 = k[7];
        pl_u32x16 x12 = lo, x13 = hi, x14 = {0}, x15 = {0};
        for (int r = 0; r < 6; r++) {  // 12 rounds: 6 double rounds
            PL_QUARTER(x0, x4, x8, x12) PL_QUARTER(x1, x5, x9, x13)
            PL_QUARTER(x2, x6, x10, x14) PL_QUARTER(x3, x7, x11, x15)
            PL_QUARTER(x0, x5, x10, x15) PL_QUARTER(x1, x6, x11, x12)
            PL_QUARTER(x2, x7, x8, x13) PL_QUARTER(x3, x4, x9, x14)
        }
        x0 += 0x61707865u; x1 += 0x3320646eu; x2 += 0x79622d32u; x3 += 0x6b206574u;
        x4 += k[0]; x5 += k[1]; x6 += k[2]; x7 += k[3]; x8 += k[4]; x9 += k[5]; x10 += k[6]; x11 += k[7];
        x12 += lo; x13 += hi;
        // Unaligned stores through memcpy: out is only 8-byte aligned, so no vector-typed pointer
        // (whose alignment the compiler would assume) is formed.
        unsigned char *o = (unsigned char *)(out + 128 * g);
        memcpy(o + 0 * 64, &x0, 64); memcpy(o + 1 * 64, &x1, 64); memcpy(o + 2 * 64, &x2, 64);
        memcpy(o + 3 * 64, &x3, 64); memcpy(o + 4 * 64, &x4, 64); memcpy(o + 5 * 64, &x5, 64);
        memcpy(o + 6 * 64, &x6, 64); memcpy(o + 7 * 64, &x7, 64); memcpy(o + 8 * 64, &x8, 64);
        memcpy(o + 9 * 64, &x9, 64); memcpy(o + 10 * 64, &x10, 64); memcpy(o + 11 * 64, &x11, 64);
        memcpy(o + 12 * 64, &x12, 64); memcpy(o + 13 * 64, &x13, 64); memcpy(o + 14 * 64, &x14, 64);
        memcpy(o + 15 * 64, &x15, 64);
    }
}
