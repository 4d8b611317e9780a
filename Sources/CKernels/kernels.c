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
        p[i] = pi - stepSize * mi / (sqrtf(vi) * inverseSqrtCorrection2 + epsilon);
    }
}

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define PL_CLONES_INTEGER __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PL_CLONES_INTEGER
#endif

// Four rows of c at a time: each loaded row segment of b feeds four multiply-adds, and the
// innermost loop runs along contiguous rows (vectorised; 8 lanes with AVX-512's vpmullq).
// Wrapping unsigned arithmetic is exact in any order, so every clone gives the same result.
PL_CLONES_INTEGER
void pl_ring_matmul_accumulate(const uint64_t *restrict a, const uint64_t *restrict b, uint64_t *restrict c,
                               size_t m, size_t k, size_t n) {
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        uint64_t *restrict c0 = c + i * n, *restrict c1 = c0 + n, *restrict c2 = c1 + n, *restrict c3 = c2 + n;
        for (size_t p = 0; p < k; p++) {
            const uint64_t a0 = a[i * k + p], a1 = a[(i + 1) * k + p], a2 = a[(i + 2) * k + p], a3 = a[(i + 3) * k + p];
            const uint64_t *restrict bp = b + p * n;
            for (size_t j = 0; j < n; j++) {
                const uint64_t v = bp[j];
                c0[j] += a0 * v;
                c1[j] += a1 * v;
                c2[j] += a2 * v;
                c3[j] += a3 * v;
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
