// PrivacyLab direct convolution kernels (stride 1); see include/ckernels.h for the contract.
//
// Why: the im2col + GEMM route copies every input value KH·KW times into a column matrix, which
// the GEMM then packs again, and its backward pass scatters the columns back (col2im). For the
// small channel counts of the networks privacy research trains on CPUs (MNIST and CIFAR CNNs,
// 1–64 channels), that traffic costs as much as the arithmetic. These kernels read the input
// where it lies instead.
//
// Layout of the work: the input of one sample is copied once into a zero-padded buffer whose
// rows are wide enough that a vector of 8 outputs of any output row can be loaded for every
// kernel column without bounds checks. The output of one sample is a list of "positions", each a
// vector of 8 consecutive outputs of one row (a row of OW outputs takes ⌈OW/8⌉ positions; lanes
// past OW are computed and dropped). A register tile holds 4 output channels × 3 positions (12
// accumulators: fits AVX2's 16 registers with the 3 input vectors and 1 weight broadcast) and
// runs over all input channels and kernel taps, so every input vector loaded feeds 4 products
// and every weight broadcast feeds 3.
//
// The weight gradient is a reduction over positions: for 4 output channels and one (input
// channel, kernel row), a tile of 4 × KW accumulators (KW ≤ 5 in registers; larger KW in chunks)
// collects output-gradient vectors times shifted input vectors over every position and sample,
// then sums its lanes once.
//
// Floating-point contraction is on in this file: the x86-64-v3/v4 clones use FMA, the baseline
// clone separate multiplies and adds, so results may differ in the last bits between CPUs (as
// OpenBLAS's GEMM kernels do); on one machine they are the same in every run and at any number of
// threads, because the order of summation is fixed.
#include "ckernels.h"
#include <stdlib.h>
#include <string.h>

#pragma clang fp contract(fast)

#if defined(__x86_64__) && defined(__linux__) && (defined(__clang__) || defined(__GNUC__))
#define PL_CONV_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PL_CONV_CLONES
#endif

#define PL_INLINE static inline __attribute__((always_inline))

typedef float pl_v8 __attribute__((vector_size(32)));
typedef float pl_v8u __attribute__((vector_size(32), aligned(4)));

// Macros rather than functions: a vector passed by value to a function would change the ABI
// between the clones.
#define pl_load8(p) (*(const pl_v8u *)(p))
#define pl_store8(p, v) (*(pl_v8u *)(p) = (v))
#define pl_splat8(s) ((pl_v8){(s), (s), (s), (s), (s), (s), (s), (s)})

enum { PL_TILE_O = 4, PL_TILE_P = 3, PL_LANES = 8 };

/// The padded geometry of one convolution's input.
typedef struct {
    size_t cin, h, w, kh, kw, padh, padw;
    size_t oh, ow;         // output size
    size_t rowVectors;     // ⌈ow / 8⌉
    size_t ws;             // padded row stride: rowVectors·8 + kw − 1
    size_t hp;             // padded rows: oh + kh − 1
    size_t plane;          // hp·ws
    size_t positions;      // oh·rowVectors
} pl_conv_shape;

static pl_conv_shape pl_conv_shape_make(size_t cin, size_t h, size_t w, size_t kh, size_t kw, size_t padh, size_t padw) {
    pl_conv_shape s;
    s.cin = cin; s.h = h; s.w = w; s.kh = kh; s.kw = kw; s.padh = padh; s.padw = padw;
    s.oh = h + 2 * padh - kh + 1;
    s.ow = w + 2 * padw - kw + 1;
    s.rowVectors = (s.ow + PL_LANES - 1) / PL_LANES;
    s.ws = s.rowVectors * PL_LANES + kw - 1;
    s.hp = s.oh + kh - 1;
    s.plane = s.hp * s.ws;
    s.positions = s.oh * s.rowVectors;
    return s;
}

/// Copies one sample's channels [cin][h][w] into the zeroed padded buffer.
PL_INLINE void pl_pad_sample(const float *x, const pl_conv_shape *s, float *xp) {
    memset(xp, 0, s->cin * s->plane * sizeof(float));
    for (size_t c = 0; c < s->cin; c++) {
        for (size_t r = 0; r < s->h; r++) {
            memcpy(xp + c * s->plane + (r + s->padh) * s->ws + s->padw, x + (c * s->h + r) * s->w, s->w * sizeof(float));
        }
    }
}

/// Offset in the padded buffer of position q's first input (kernel tap 0, 0).
PL_INLINE size_t pl_position_offset(const pl_conv_shape *s, size_t q) {
    size_t row = q / s->rowVectors, column = (q % s->rowVectors) * PL_LANES;
    return row * s->ws + column;
}

/// Writes the valid lanes of one position's outputs (plus a bias) into y's channel plane.
PL_INLINE void pl_store_position(float *yPlane, const pl_conv_shape *s, size_t q, const pl_v8 *value, float bias) {
    size_t row = q / s->rowVectors, column = (q % s->rowVectors) * PL_LANES;
    pl_v8 v = *value + pl_splat8(bias);
    float *target = yPlane + row * s->ow + column;
    size_t valid = s->ow - column;
    if (valid >= PL_LANES) {
        pl_store8(target, v);
    } else {
        float lanes[PL_LANES];
        pl_store8(lanes, v);
        for (size_t i = 0; i < valid; i++) target[i] = lanes[i];
    }
}

/// acc[o][p] = Σ_{c, a, b} wt[(c·KH + a)·KW + b][o0 + o] · xp[c][row_p + a][col_p + b].
PL_INLINE void pl_conv_tile(const float *xp, const pl_conv_shape *s, const float *wt, size_t ostride, size_t o0,
                            const size_t off[PL_TILE_P], pl_v8 acc[PL_TILE_O][PL_TILE_P]) {
    // The twelve accumulators are named locals rather than an array, so that clang's -O2 keeps
    // them in registers (an array filled through a pointer reached -O3's allocation only).
    pl_v8 a00 = pl_splat8(0), a01 = pl_splat8(0), a02 = pl_splat8(0);
    pl_v8 a10 = pl_splat8(0), a11 = pl_splat8(0), a12 = pl_splat8(0);
    pl_v8 a20 = pl_splat8(0), a21 = pl_splat8(0), a22 = pl_splat8(0);
    pl_v8 a30 = pl_splat8(0), a31 = pl_splat8(0), a32 = pl_splat8(0);
    const size_t kh = s->kh, kw = s->kw, off0 = off[0], off1 = off[1], off2 = off[2];
    for (size_t c = 0; c < s->cin; c++) {
        for (size_t a = 0; a < kh; a++) {
            const float *row = xp + c * s->plane + a * s->ws;
            const float *wr = wt + (c * kh + a) * kw * ostride + o0;
            for (size_t b = 0; b < kw; b++) {
                const pl_v8 x0 = pl_load8(row + off0 + b);
                const pl_v8 x1 = pl_load8(row + off1 + b);
                const pl_v8 x2 = pl_load8(row + off2 + b);
                const float *wb = wr + b * ostride;
                pl_v8 wv = pl_splat8(wb[0]);
                a00 += wv * x0; a01 += wv * x1; a02 += wv * x2;
                wv = pl_splat8(wb[1]);
                a10 += wv * x0; a11 += wv * x1; a12 += wv * x2;
                wv = pl_splat8(wb[2]);
                a20 += wv * x0; a21 += wv * x1; a22 += wv * x2;
                wv = pl_splat8(wb[3]);
                a30 += wv * x0; a31 += wv * x1; a32 += wv * x2;
            }
        }
    }
    acc[0][0] = a00; acc[0][1] = a01; acc[0][2] = a02;
    acc[1][0] = a10; acc[1][1] = a11; acc[1][2] = a12;
    acc[2][0] = a20; acc[2][1] = a21; acc[2][2] = a22;
    acc[3][0] = a30; acc[3][1] = a31; acc[3][2] = a32;
}

PL_CONV_CLONES
int pl_conv2d_direct(const float *x, size_t n, size_t cin, size_t h, size_t w,
                     const float *weight, size_t cout, size_t kh, size_t kw, size_t padh, size_t padw,
                     int transposedFlipped, const float *bias, float *y) {
    pl_conv_shape s = pl_conv_shape_make(cin, h, w, kh, kw, padh, padw);
    const size_t ostride = (cout + PL_TILE_O - 1) / PL_TILE_O * PL_TILE_O;
    const size_t taps = cin * kh * kw;
    // Weights as [c][a][b][o] with o padded to a multiple of the tile by zeros.
    float *wt = calloc(taps * ostride + 1, sizeof(float));
    // One padded sample, plus one vector of slack.
    float *xp = malloc((cin * s.plane + PL_LANES) * sizeof(float));
    if (!wt || !xp) { free(wt); free(xp); return -1; }
    for (size_t o = 0; o < cout; o++) {
        for (size_t c = 0; c < cin; c++) {
            for (size_t a = 0; a < kh; a++) {
                for (size_t b = 0; b < kw; b++) {
                    float value = transposedFlipped
                        ? weight[((c * cout + o) * kh + (kh - 1 - a)) * kw + (kw - 1 - b)]
                        : weight[((o * cin + c) * kh + a) * kw + b];
                    wt[((c * kh + a) * kw + b) * ostride + o] = value;
                }
            }
        }
    }
    const size_t outPlane = s.oh * s.ow;
    for (size_t i = 0; i < n; i++) {
        pl_pad_sample(x + i * cin * h * w, &s, xp);
        float *yi = y + i * cout * outPlane;
        for (size_t o0 = 0; o0 < cout; o0 += PL_TILE_O) {
            for (size_t q0 = 0; q0 < s.positions; q0 += PL_TILE_P) {
                size_t off[PL_TILE_P];
                for (int p = 0; p < PL_TILE_P; p++)
                    off[p] = q0 + p < s.positions ? pl_position_offset(&s, q0 + p) : 0;
                pl_v8 acc[PL_TILE_O][PL_TILE_P];
                pl_conv_tile(xp, &s, wt, ostride, o0, off, acc);
                for (int o = 0; o < PL_TILE_O && o0 + o < cout; o++) {
                    float b = bias ? bias[o0 + o] : 0.0f;
                    for (int p = 0; p < PL_TILE_P && q0 + p < s.positions; p++)
                        pl_store_position(yi + (o0 + o) * outPlane, &s, q0 + p, &acc[o][p], b);
                }
            }
        }
    }
    free(wt);
    free(xp);
    return 0;
}

/// The sum of a vector's lanes in a fixed order.
PL_INLINE float pl_lane_sum(const pl_v8 *v) {
    float l[PL_LANES];
    pl_store8(l, *v);
    return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
}

/// dw[o0 + o][c][a][b0 + j] += Σ over positions of dyp[o0 + o] · xp[c] shifted by (a, b0 + j), for
/// o < 4 (PL_TILE_O), j < KB (a constant after inlining, so the accumulators stay in registers);
/// terms past cout or kw are computed on zero or in-buffer values and dropped. The accumulators are
/// named locals rather than an array, so that clang's -O2 keeps all twenty in registers.
PL_INLINE void pl_weight_gradient_tile(const float *xp, const float *dyp, const pl_conv_shape *s, size_t rs, size_t dyPlane,
                                       size_t o0, size_t cout, size_t c, size_t a, size_t b0, float *dw, const int KB) {
    const pl_v8 zero = pl_splat8(0);
    pl_v8 a00 = zero, a01 = zero, a02 = zero, a03 = zero, a04 = zero;
    pl_v8 a10 = zero, a11 = zero, a12 = zero, a13 = zero, a14 = zero;
    pl_v8 a20 = zero, a21 = zero, a22 = zero, a23 = zero, a24 = zero;
    pl_v8 a30 = zero, a31 = zero, a32 = zero, a33 = zero, a34 = zero;
    const float *xc = xp + c * s->plane + a * s->ws + b0;
    const float *dyo = dyp + o0 * dyPlane;
    for (size_t r = 0; r < s->oh; r++) {
        const float *xr = xc + r * s->ws;
        const float *dr = dyo + r * rs;
        for (size_t col = 0; col < s->rowVectors * PL_LANES; col += PL_LANES) {
            const pl_v8 d0 = pl_load8(dr + col), d1 = pl_load8(dr + dyPlane + col);
            const pl_v8 d2 = pl_load8(dr + 2 * dyPlane + col), d3 = pl_load8(dr + 3 * dyPlane + col);
            const pl_v8 x0 = pl_load8(xr + col);
            a00 += d0 * x0; a10 += d1 * x0; a20 += d2 * x0; a30 += d3 * x0;
            if (KB > 1) {
                const pl_v8 x1 = pl_load8(xr + col + 1);
                a01 += d0 * x1; a11 += d1 * x1; a21 += d2 * x1; a31 += d3 * x1;
            }
            if (KB > 2) {
                const pl_v8 x2 = pl_load8(xr + col + 2);
                a02 += d0 * x2; a12 += d1 * x2; a22 += d2 * x2; a32 += d3 * x2;
            }
            if (KB > 3) {
                const pl_v8 x3 = pl_load8(xr + col + 3);
                a03 += d0 * x3; a13 += d1 * x3; a23 += d2 * x3; a33 += d3 * x3;
            }
            if (KB > 4) {
                const pl_v8 x4 = pl_load8(xr + col + 4);
                a04 += d0 * x4; a14 += d1 * x4; a24 += d2 * x4; a34 += d3 * x4;
            }
        }
    }
    const pl_v8 acc[PL_TILE_O][5] = {
        {a00, a01, a02, a03, a04}, {a10, a11, a12, a13, a14}, {a20, a21, a22, a23, a24}, {a30, a31, a32, a33, a34},
    };
    for (int o = 0; o < PL_TILE_O && o0 + o < cout; o++) {
        for (int j = 0; j < KB && b0 + j < s->kw; j++) {
            dw[(((o0 + o) * s->cin + c) * s->kh + a) * s->kw + b0 + j] += pl_lane_sum(&acc[o][j]);
        }
    }
}

PL_CONV_CLONES
int pl_conv2d_weight_gradient(const float *x, const float *dy, size_t n, size_t cin, size_t h, size_t w,
                              size_t cout, size_t kh, size_t kw, size_t padh, size_t padw, float *dw) {
    pl_conv_shape s = pl_conv_shape_make(cin, h, w, kh, kw, padh, padw);
    const size_t ostride = (cout + PL_TILE_O - 1) / PL_TILE_O * PL_TILE_O;
    const size_t rs = s.rowVectors * PL_LANES, dyPlane = s.oh * rs, outPlane = s.oh * s.ow;
    float *xp = malloc((cin * s.plane + 64) * sizeof(float));
    float *dyp = calloc(ostride * dyPlane + PL_LANES, sizeof(float));
    if (!xp || !dyp) { free(xp); free(dyp); return -1; }
    memset(dw, 0, cout * cin * kh * kw * sizeof(float));
    memset(xp + cin * s.plane, 0, 64 * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        pl_pad_sample(x + i * cin * h * w, &s, xp);
        const float *dyi = dy + i * cout * outPlane;
        for (size_t o = 0; o < cout; o++)
            for (size_t r = 0; r < s.oh; r++)
                memcpy(dyp + o * dyPlane + r * rs, dyi + o * outPlane + r * s.ow, s.ow * sizeof(float));
        for (size_t o0 = 0; o0 < cout; o0 += PL_TILE_O) {
            for (size_t c = 0; c < cin; c++) {
                for (size_t a = 0; a < kh; a++) {
                    switch (kw) {
                    case 1: pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, 0, dw, 1); break;
                    case 2: pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, 0, dw, 2); break;
                    case 3: pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, 0, dw, 3); break;
                    case 4: pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, 0, dw, 4); break;
                    case 5: pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, 0, dw, 5); break;
                    default:
                        for (size_t b0 = 0; b0 < kw; b0 += 4)
                            pl_weight_gradient_tile(xp, dyp, &s, rs, dyPlane, o0, cout, c, a, b0, dw, 4);
                    }
                }
            }
        }
    }
    free(xp);
    free(dyp);
    return 0;
}

// MARK: Sparse rows times a dense matrix.
//
// y = x · wᵀ for x whose rows are mostly zeros (image pixels of MNIST-like data, one-hot and binary
// tabular features, ReLU outputs). The non-zeros of a chunk of rows are listed once (compressed
// rows, built without branches); the weights ([n][k]) are re-laid as panels of 16 output
// columns (k × 16 contiguous floats: one cache line per input index); then for each panel and
// row, eight independent vector accumulators run over the row's (index, value) pairs. Work is proportional to
// the non-zeros instead of the row length. Exact zeros are skipped, so a non-finite weight met only
// by zero inputs does not turn the output into NaN as 0·∞ would in a dense product. The order of
// summation is fixed (pair t goes to accumulator t mod 4 of its vector; the four are added pairwise), so results
// are the same in every run.

enum { PL_SPARSE_CHUNK = 64, PL_PANEL = 16 };

PL_CONV_CLONES
int pl_sparse_rows_matmul(const float *x, size_t m, size_t k, const float *w, size_t n, const float *bias, float *y) {
    // Panels of 16 columns (two vectors: one (index, value) pair feeds two products, and the four-way
    // unrolled loop keeps eight independent accumulators in flight), then one of 8, then scalars.
    const size_t wide = n / PL_PANEL, narrow = (n % PL_PANEL) / PL_LANES;
    const size_t vectorColumns = wide * PL_PANEL + narrow * PL_LANES;
    uint32_t *offset = malloc((PL_SPARSE_CHUNK * k + 1) * sizeof(uint32_t));
    float *value = malloc((PL_SPARSE_CHUNK * k + 1) * sizeof(float));
    size_t *start = malloc((PL_SPARSE_CHUNK + 1) * sizeof(size_t));
    float *panel = malloc((vectorColumns * k + 1) * sizeof(float));
    if (!offset || !value || !start || !panel) { free(offset); free(value); free(start); free(panel); return -1; }
    // panel[p][j][c] = w[p·16 + c][j]: the weights of 16 outputs for input j, side by side.
    for (size_t p = 0; p < wide; p++)
        for (size_t c = 0; c < PL_PANEL; c++)
            for (size_t j = 0; j < k; j++)
                panel[(p * k + j) * PL_PANEL + c] = w[(p * PL_PANEL + c) * k + j];
    float *last = panel + wide * k * PL_PANEL;
    for (size_t c = 0; c < narrow * PL_LANES; c++)
        for (size_t j = 0; j < k; j++)
            last[j * PL_LANES + c] = w[(wide * PL_PANEL + c) * k + j];
    for (size_t i0 = 0; i0 < m; i0 += PL_SPARSE_CHUNK) {
        const size_t rows = m - i0 < PL_SPARSE_CHUNK ? m - i0 : PL_SPARSE_CHUNK;
        size_t count = 0;
        for (size_t r = 0; r < rows; r++) {
            start[r] = count;
            const float *row = x + (i0 + r) * k;
            for (size_t j = 0; j < k; j++) {
                offset[count] = (uint32_t)j;
                value[count] = row[j];
                count += row[j] != 0.0f;
            }
        }
        start[rows] = count;
        for (size_t p = 0; p < wide; p++) {
            const float *P = panel + p * k * PL_PANEL;
            const pl_v8 b0 = bias ? pl_load8(bias + p * PL_PANEL) : pl_splat8(0);
            const pl_v8 b1 = bias ? pl_load8(bias + p * PL_PANEL + PL_LANES) : pl_splat8(0);
            for (size_t r = 0; r < rows; r++) {
                pl_v8 a0 = pl_splat8(0), a1 = pl_splat8(0), a2 = pl_splat8(0), a3 = pl_splat8(0);
                pl_v8 c0 = pl_splat8(0), c1 = pl_splat8(0), c2 = pl_splat8(0), c3 = pl_splat8(0);
                size_t t = start[r];
                const size_t end = start[r + 1];
                for (; t + 4 <= end; t += 4) {
                    const float *q0 = P + (size_t)offset[t] * PL_PANEL, *q1 = P + (size_t)offset[t + 1] * PL_PANEL;
                    const float *q2 = P + (size_t)offset[t + 2] * PL_PANEL, *q3 = P + (size_t)offset[t + 3] * PL_PANEL;
                    pl_v8 v0 = pl_splat8(value[t]), v1 = pl_splat8(value[t + 1]);
                    pl_v8 v2 = pl_splat8(value[t + 2]), v3 = pl_splat8(value[t + 3]);
                    a0 += v0 * pl_load8(q0); c0 += v0 * pl_load8(q0 + PL_LANES);
                    a1 += v1 * pl_load8(q1); c1 += v1 * pl_load8(q1 + PL_LANES);
                    a2 += v2 * pl_load8(q2); c2 += v2 * pl_load8(q2 + PL_LANES);
                    a3 += v3 * pl_load8(q3); c3 += v3 * pl_load8(q3 + PL_LANES);
                }
                for (; t < end; t++) {
                    const float *q = P + (size_t)offset[t] * PL_PANEL;
                    pl_v8 v = pl_splat8(value[t]);
                    a0 += v * pl_load8(q); c0 += v * pl_load8(q + PL_LANES);
                }
                float *out = y + (i0 + r) * n + p * PL_PANEL;
                pl_store8(out, ((a0 + a1) + (a2 + a3)) + b0);
                pl_store8(out + PL_LANES, ((c0 + c1) + (c2 + c3)) + b1);
            }
        }
        if (narrow) {
            const pl_v8 b = bias ? pl_load8(bias + wide * PL_PANEL) : pl_splat8(0);
            for (size_t r = 0; r < rows; r++) {
                pl_v8 a0 = pl_splat8(0), a1 = pl_splat8(0);
                size_t t = start[r];
                const size_t end = start[r + 1];
                for (; t + 2 <= end; t += 2) {
                    a0 += pl_splat8(value[t]) * pl_load8(last + (size_t)offset[t] * PL_LANES);
                    a1 += pl_splat8(value[t + 1]) * pl_load8(last + (size_t)offset[t + 1] * PL_LANES);
                }
                for (; t < end; t++) a0 += pl_splat8(value[t]) * pl_load8(last + (size_t)offset[t] * PL_LANES);
                pl_store8(y + (i0 + r) * n + wide * PL_PANEL, (a0 + a1) + b);
            }
        }
        for (size_t c = vectorColumns; c < n; c++) {
            for (size_t r = 0; r < rows; r++) {
                float acc = 0;
                for (size_t t = start[r]; t < start[r + 1]; t++) acc += value[t] * w[c * k + offset[t]];
                y[(i0 + r) * n + c] = acc + (bias ? bias[c] : 0.0f);
            }
        }
    }
    free(offset); free(value); free(start); free(panel);
    return 0;
}

PL_CONV_CLONES
size_t pl_count_nonzero(const float *x, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += x[i] != 0.0f;
    return count;
}
