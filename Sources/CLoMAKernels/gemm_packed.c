// The product kernel of the memory pass: few rows (16 to 256 memory tokens) against large
// weight matrices packed once at load. OpenBLAS re-packs the weights on every call and runs
// such skinny products well below its square-matrix rate; here the weights are already in
// the order the kernel reads them, so each panel is streamed from memory exactly once per
// call and then reused from L1 by every block of rows.

#include "CLoMAKernels.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum {
    kPanel = LOMA_PANEL_WIDTH,
    /// Rows per tile: 6 x 2 accumulators + 2 weight vectors + 1 broadcast fit in 16 registers.
    kRowsPerTile = 6,
    /// Inner-dimension block: a 16 KiB slice of a panel stays in L1 across all row tiles.
    kInnerBlock = 256,
    /// Inner steps (64-byte panel rows) between prefetching and using a weight line.
    kPrefetchAhead = 64,
};

size_t loma_packed_count(int rows, int columns) {
    size_t panels = ((size_t)rows + kPanel - 1) / kPanel;
    return panels * kPanel * (size_t)columns;
}

void loma_pack(const float *weight, int rows, int columns, float *packed) {
    size_t panels = ((size_t)rows + kPanel - 1) / kPanel;
    for (size_t p = 0; p < panels; p++) {
        float *panel = packed + p * kPanel * (size_t)columns;
        // Sixteen sequential row streams in, one sequential stream out.
        for (int column = 0; column < columns; column++) {
            for (int j = 0; j < kPanel; j++) {
                size_t row = p * kPanel + (size_t)j;
                panel[(size_t)column * kPanel + j] = row < (size_t)rows ? weight[row * (size_t)columns + column] : 0.0f;
            }
        }
    }
}

size_t loma_packed_rows_count(int rows, int columns) {
    size_t tiles = ((size_t)rows + kRowsPerTile - 1) / kRowsPerTile;
    return tiles * kRowsPerTile * (size_t)columns;
}

void loma_pack_rows(const float *x, int rows, int columns, int ldx, float *packed) {
    size_t tiles = ((size_t)rows + kRowsPerTile - 1) / kRowsPerTile;
    for (size_t tile = 0; tile < tiles; tile++) {
        float *target = packed + tile * kRowsPerTile * (size_t)columns;
        for (int i = 0; i < kRowsPerTile; i++) {
            size_t row = tile * kRowsPerTile + (size_t)i;
            const float *source = x + row * (size_t)ldx;
            for (int column = 0; column < columns; column++) {
                target[(size_t)column * kRowsPerTile + i] = row < (size_t)rows ? source[column] : 0.0f;
            }
        }
    }
}

float loma_packed_element(const float *packed, int columns, int row, int column) {
    return packed[(size_t)(row / kPanel) * kPanel * columns + (size_t)column * kPanel + row % kPanel];
}

/// Adds (or writes) one finished tile row of 16 sums into `y`, only its first `width` columns.
static inline void store_row(const float *sums, float *y, int width, int load) {
    for (int j = 0; j < width; j++) y[j] = (load ? y[j] : 0.0f) + sums[j];
}

/// Portable tile: plain loops the compiler vectorises for whatever the baseline ISA is.
static void tile_portable(int rows, int inner, const float *x, const float *w,
                          float *y, int ldy, int width, int load) {
    float sums[kRowsPerTile][kPanel];
    memset(sums, 0, sizeof sums);
    for (int kk = 0; kk < inner; kk++) {
        const float *wk = w + (size_t)kk * kPanel;
        for (int i = 0; i < rows; i++) {
            float xi = x[(size_t)kk * kRowsPerTile + i];
            for (int j = 0; j < kPanel; j++) sums[i][j] += xi * wk[j];
        }
    }
    for (int i = 0; i < rows; i++) store_row(sums[i], y + (size_t)i * ldy, width, load);
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))

/// One tile of `ROWS` rows x 16 outputs; `ROWS` is a constant at every call site, so the
/// accumulators live in registers.
static inline __attribute__((always_inline)) AVX2 void tile_avx2_rows(
    const int ROWS, int inner, const float *x, const float *w, float *y, int ldy, int width, int load) {
    __m256 low[kRowsPerTile], high[kRowsPerTile];
    for (int i = 0; i < ROWS; i++) { low[i] = _mm256_setzero_ps(); high[i] = _mm256_setzero_ps(); }
    for (int kk = 0; kk < inner; kk++) {
        // The first row tile reads the panel from memory; asking for it a few KiB ahead keeps
        // the stream going while the FMAs run (later tiles find it in L1 and the hint is free).
        _mm_prefetch((const char *)(w + (size_t)(kk + kPrefetchAhead) * kPanel), _MM_HINT_T0);
        __m256 w0 = _mm256_load_ps(w + (size_t)kk * kPanel);
        __m256 w1 = _mm256_load_ps(w + (size_t)kk * kPanel + 8);
        for (int i = 0; i < ROWS; i++) {
            __m256 xi = _mm256_broadcast_ss(x + (size_t)kk * kRowsPerTile + i);
            low[i] = _mm256_fmadd_ps(xi, w0, low[i]);
            high[i] = _mm256_fmadd_ps(xi, w1, high[i]);
        }
    }
    for (int i = 0; i < ROWS; i++) {
        float *row = y + (size_t)i * ldy;
        if (width == kPanel) {
            if (load) {
                low[i] = _mm256_add_ps(low[i], _mm256_loadu_ps(row));
                high[i] = _mm256_add_ps(high[i], _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, low[i]);
            _mm256_storeu_ps(row + 8, high[i]);
        } else {
            float sums[kPanel];
            _mm256_storeu_ps(sums, low[i]);
            _mm256_storeu_ps(sums + 8, high[i]);
            store_row(sums, row, width, load);
        }
    }
}

static AVX2 void tile_avx2(int rows, int inner, const float *x, const float *w,
                           float *y, int ldy, int width, int load) {
    switch (rows) {
    case 6: tile_avx2_rows(6, inner, x, w, y, ldy, width, load); break;
    case 5: tile_avx2_rows(5, inner, x, w, y, ldy, width, load); break;
    case 4: tile_avx2_rows(4, inner, x, w, y, ldy, width, load); break;
    case 3: tile_avx2_rows(3, inner, x, w, y, ldy, width, load); break;
    case 2: tile_avx2_rows(2, inner, x, w, y, ldy, width, load); break;
    default: tile_avx2_rows(1, inner, x, w, y, ldy, width, load); break;
    }
}
#endif

int loma_kernels_use_avx2(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

typedef void (*tile_function)(int, int, const float *, const float *, float *, int, int, int);

void loma_gemm_packed(const float *x, int m, int k,
                      const float *packed, int n, int panel_begin, int panel_end,
                      float *y, int ldy, int accumulate) {
    tile_function tile = tile_portable;
#if defined(__x86_64__)
    if (loma_kernels_use_avx2()) tile = tile_avx2;
#endif
    for (int p = panel_begin; p < panel_end; p++) {
        const float *panel = packed + (size_t)p * kPanel * k;
        int first = p * kPanel;
        int width = n - first < kPanel ? n - first : kPanel;
        if (width <= 0) break;
        for (int k0 = 0; k0 < k; k0 += kInnerBlock) {
            int inner = k - k0 < kInnerBlock ? k - k0 : kInnerBlock;
            int load = accumulate || k0 > 0;
            for (int i0 = 0; i0 < m; i0 += kRowsPerTile) {
                int rows = m - i0 < kRowsPerTile ? m - i0 : kRowsPerTile;
                tile(rows, inner, x + ((size_t)i0 * k + (size_t)k0 * kRowsPerTile), panel + (size_t)k0 * kPanel,
                     y + (size_t)i0 * ldy + first, ldy, width, load);
            }
        }
    }
}
