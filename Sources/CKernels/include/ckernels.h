// PrivacyLab's element-wise numeric kernels in C (layer 0).
//
// Loops that Swift does not vectorise by itself — calls to libm's expf/tanhf, and square roots —
// written so that the compiler vectorises them, and compiled for two instruction sets (x86-64-v3
// with AVX2, and the baseline) with the one matching the CPU chosen when the library loads.
// Floating-point contraction is off: every clone performs the same IEEE operations in the same
// order, so results are bit-identical whichever clone runs (PrivacyLab's results are
// deterministic across machines, not only across runs).
//
// Reached only from the Tensors and NeuralNetworks layer through `internal import`.
#ifndef PRIVACY_LAB_CKERNELS_H
#define PRIVACY_LAB_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y[i] = eˣ for i < n, within 2 ulp of the exact value for normal results; results below the
/// smallest normal float flush to 0, above FLT_MAX give +inf, NaN stays NaN. x and y may alias.
void pl_exp(const float *x, float *y, size_t n);

/// y[i] = exp(x[i] − shift); returns Σ y[i] (summed in index order). x and y may alias.
float pl_exp_shifted_sum(const float *x, float *y, size_t n, float shift);

/// y[i] = tanh(x[i]), within 2 ulp. x and y may alias.
void pl_tanh(const float *x, float *y, size_t n);

/// y[i] = 1 / (1 + e^−x[i]) without overflow. x and y may alias.
void pl_sigmoid(const float *x, float *y, size_t n);

/// y[i] = x[i] > 0 ? x[i] : 0 (NaN gives 0). x and y may alias.
void pl_relu(const float *x, float *y, size_t n);

/// out[i] = x[i] > 0 ? g[i] : 0: the backward pass of ReLU from its input x.
void pl_relu_backward(const float *g, const float *x, float *out, size_t n);

/// out[i] = g[i] · (1 − t[i]²): the backward pass of tanh from its saved output t.
void pl_tanh_backward(const float *g, const float *t, float *out, size_t n);

/// out[i] = g[i] · s[i] · (1 − s[i]): the backward pass of the sigmoid from its saved output s.
void pl_sigmoid_backward(const float *g, const float *s, float *out, size_t n);

/// One Adam (or AdamW) update of n parameters, in place:
///   p ← p·shrink;  d ← g + l2·p;  m ← β₁m + (1−β₁)d;  v ← β₂v + (1−β₂)d²;
///   p ← p − stepSize · m / (√v · inverseSqrtCorrection2 + ε).
void pl_adam_update(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                    float beta1, float beta2, float epsilon, float stepSize, float inverseSqrtCorrection2,
                    float l2, float shrink);

/// c += a·b over Z(2^64) (wrapping) for row-major a (m×k), b (k×n), c (m×n). The buffers must
/// not overlap. Cloned for AVX-512 (vector 64-bit multiply), AVX2 and the baseline.
void pl_ring_matmul_accumulate(const uint64_t *restrict a, const uint64_t *restrict b, uint64_t *restrict c,
                               size_t m, size_t k, size_t n);

/// Direct 2-D cross-correlation with stride 1 and zero padding, for NCHW tensors (convolution.c):
///   y[i][o][r][q] = bias[o] + Σ_{c,a,b} w[o][c][a][b] · x[i][c][r + a − padh][q + b − padw]
/// with x of shape [n][cin][h][w], y of shape [n][cout][h + 2·padh − kh + 1][w + 2·padw − kw + 1].
/// When transposedFlipped ≠ 0, weight is laid out [cin][cout][kh][kw] and used flipped:
/// w[o][c][a][b] = weight[c][o][kh − 1 − a][kw − 1 − b] — the input gradient of a stride-1
/// convolution is this correlation of the output gradient with padding kh − 1 − pad. bias may be
/// NULL. Returns 0, or −1 when its scratch memory cannot be allocated.
int pl_conv2d_direct(const float *x, size_t n, size_t cin, size_t h, size_t w,
                     const float *weight, size_t cout, size_t kh, size_t kw, size_t padh, size_t padw,
                     int transposedFlipped, const float *bias, float *y);

/// The weight gradient of the stride-1 correlation above (convolution.c):
///   dw[o][c][a][b] = Σ_{i,r,q} dy[i][o][r][q] · x[i][c][r + a − padh][q + b − padw]
/// with dy of the output's shape. dw ([cout][cin][kh][kw]) is overwritten. Returns 0, or −1 when
/// its scratch memory cannot be allocated.
int pl_conv2d_weight_gradient(const float *x, const float *dy, size_t n, size_t cin, size_t h, size_t w,
                              size_t cout, size_t kh, size_t kw, size_t padh, size_t padw, float *dw);

/// out[ch] = Σ_b Σ_i x[b][ch][i] for an [n][c][plane] tensor (each row summed in 8 lanes, then
/// lanes and rows in a fixed order).
void pl_channel_sums(const float *x, size_t n, size_t c, size_t plane, float *out);

/// 2×2 max pooling with stride 2 of `planes` planes of h×w: y gets each window's maximum and
/// indices its flat position in x: the first maximum in row-major order under `>` (so a NaN
/// wins only from the window's first position).
void pl_max_pool_2x2(const float *x, size_t planes, size_t h, size_t w, float *y, int64_t *indices);

/// y = x · wᵀ (+ bias) for row-major x [m][k] whose rows are mostly zeros and weights w [n][k]
/// (y[i][c] = bias[c] + Σ_{j: x[i][j] ≠ 0} x[i][j] · w[c][j], in a fixed order). Cost proportional to the non-zeros of x times n. bias may be NULL. Returns 0, or −1
/// when its scratch memory cannot be allocated.
int pl_sparse_rows_matmul(const float *x, size_t m, size_t k, const float *w, size_t n, const float *bias, float *y);

/// The number of entries of x[0..<n] that are not 0 (NaN counts as non-zero).
size_t pl_count_nonzero(const float *x, size_t n);

/// The ChaCha12 keystream (RFC 8439 block function reduced to 12 rounds; 256-bit key, a 64-bit
/// block counter in state words 12–13, words 14–15 zero) for blocks counter, counter + 1, … in
/// groups of 16: group g covers blocks counter + 16g … counter + 16g + 15 and fills out[128g …
/// 128g + 127] with state word w of those 16 blocks (in block order, as 32-bit little-endian
/// halves of the 64-bit words) before word w + 1. Cloned for AVX-512, AVX2 and the baseline,
/// with identical output.
void pl_chacha12_groups(const uint32_t key[8], uint64_t counter, uint64_t *out, size_t groups);

// Pins the calling thread to the (index mod n)-th of the n processors the process may run on.
// Returns the processor, or -1 when fewer than two are allowed or the call fails (no change).
int pl_pin_current_thread(int index);

#endif
