// The product kernels of the memory pass: few rows (16 to 256 memory tokens) against large
// weight matrices packed once at load. OpenBLAS re-packs the weights on every call and runs
// such skinny products well below its square-matrix rate; here the weights are already in
// the order the kernel reads them, so each panel is streamed from memory exactly once per
// call and then reused from L1 by every block of rows. Weights are f32 or bf16; bf16 halves
// the bytes streamed (the whole cost at 16 rows) and is widened to f32 in registers, so the
// arithmetic is f32 either way.
//
// Each instruction set's code is compiled with a per-function `target` attribute and chosen at
// run time (`__builtin_cpu_supports`), so the package builds for baseline x86-64 or arm64 and
// never executes an instruction the CPU lacks.

#include "CLoMAKernels.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum {
    kPanel = LOMA_PANEL_WIDTH,
    /// Rows per tile: AVX2 holds 6 x 2 accumulators + 2 weight vectors + 1 broadcast in its 16
    /// registers; AVX-512 holds 6 x 4 in its 32.
    kRowsPerTile = 6,
    /// Panels per AVX-512 tile (4 x 16 outputs).
    kPanelsPerTile512 = 4,
    /// Inner-dimension block: the slice of the panels a tile reads (16 KiB for one f32 panel)
    /// stays in L1 across all row tiles.
    kInnerBlock = 256,
    /// The same for AVX-512's four panels: 32 KiB as f32 (of a 48 KiB L1).
    kInnerBlock512 = 128,
    /// Rows from which AVX-512 widens bf16 blocks once into L1 instead of in registers per row
    /// tile. Measured on one thread (n 8192, k 2048): widening costs a pass over the block that
    /// does not overlap the FMAs, so below this it lost (16 rows: 74 against 168 GFLOP/s
    /// in registers; 64 rows: 132 against 172); at 256 rows it won (173 against 160).
    kWidenRows = 128,
    /// Inner steps (panel rows) between prefetching and using a weight line.
    kPrefetchAhead = 64,
};

size_t loma_packed_count(int rows, int columns) {
    size_t panels = ((size_t)rows + kPanel - 1) / kPanel;
    return panels * kPanel * (size_t)columns;
}

/// f32 -> bf16, round to nearest even; a NaN keeps its sign and stays a (quiet) NaN.
static inline uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

static inline float from_bf16(uint16_t value) {
    uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, sizeof result);
    return result;
}

void loma_pack(const float *weight, int rows, int columns, int weight_type, int panel_begin, int panel_end, void *packed) {
    for (size_t p = (size_t)panel_begin; p < (size_t)panel_end; p++) {
        size_t base = p * kPanel * (size_t)columns;
        // Sixteen sequential row streams in, one sequential stream out.
        for (int column = 0; column < columns; column++) {
            for (int j = 0; j < kPanel; j++) {
                size_t row = p * kPanel + (size_t)j;
                float value = row < (size_t)rows ? weight[row * (size_t)columns + column] : 0.0f;
                size_t index = base + (size_t)column * kPanel + j;
                if (weight_type == LOMA_WEIGHTS_BF16) ((uint16_t *)packed)[index] = to_bf16(value);
                else ((float *)packed)[index] = value;
            }
        }
    }
}

float loma_packed_element(const void *packed, int weight_type, int columns, int row, int column) {
    size_t index = (size_t)(row / kPanel) * kPanel * columns + (size_t)column * kPanel + row % kPanel;
    return weight_type == LOMA_WEIGHTS_BF16 ? from_bf16(((const uint16_t *)packed)[index]) : ((const float *)packed)[index];
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

/// Adds (or writes) one finished tile row of 16 sums into `y`, only its first `width` columns.
static inline void store_row(const float *sums, float *y, int width, int load) {
    for (int j = 0; j < width; j++) y[j] = (load ? y[j] : 0.0f) + sums[j];
}

/// Where one tile reads and writes: `x` (packed rows), the first panel `w` of `panels`
/// consecutive ones `panel_stride` elements apart, the output block `y`, and how many of each
/// panel's 16 outputs are real (`widths`, 16 except in the last panel of a matrix).
typedef struct {
    int rows, inner;
    const float *x;
    const void *w;
    size_t panel_stride;
    float *y;
    int ldy;
    int widths[kPanelsPerTile512];
    int load;
} tile_args;

/// Portable tile: plain loops the compiler vectorises for whatever the baseline ISA is.
static void tile_portable(const tile_args *a, int bf16) {
    float sums[kRowsPerTile][kPanel];
    float wk[kPanel];
    memset(sums, 0, sizeof sums);
    for (int kk = 0; kk < a->inner; kk++) {
        size_t offset = (size_t)kk * kPanel;
        for (int j = 0; j < kPanel; j++) {
            wk[j] = bf16 ? from_bf16(((const uint16_t *)a->w)[offset + j]) : ((const float *)a->w)[offset + j];
        }
        for (int i = 0; i < a->rows; i++) {
            float xi = a->x[(size_t)kk * kRowsPerTile + i];
            for (int j = 0; j < kPanel; j++) sums[i][j] += xi * wk[j];
        }
    }
    for (int i = 0; i < a->rows; i++) store_row(sums[i], a->y + (size_t)i * a->ldy, a->widths[0], a->load);
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

/// Eight weights of panel row `kk` from column `half` (0 or 1) as f32.
INLINE AVX2 __m256 load8(const void *w, size_t kk, int half, int bf16) {
    size_t index = kk * kPanel + (size_t)half * 8;
    if (!bf16) return _mm256_loadu_ps((const float *)w + index);
    __m128i raw = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + index));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}

/// One tile of `ROWS` rows x 16 outputs; `ROWS` and `bf16` are constants at every call site,
/// so the accumulators live in registers and the weight format costs no branch.
INLINE AVX2 void tile_avx2_rows(const int ROWS, const int bf16, const tile_args *a) {
    __m256 low[kRowsPerTile], high[kRowsPerTile];
    for (int i = 0; i < ROWS; i++) { low[i] = _mm256_setzero_ps(); high[i] = _mm256_setzero_ps(); }
    const size_t element = bf16 ? 2 : 4;
    for (int kk = 0; kk < a->inner; kk++) {
        // The first row tile reads the panel from memory; asking for it a few KiB ahead keeps
        // the stream going while the FMAs run (later tiles find it in L1 and the hint is free).
        _mm_prefetch((const char *)a->w + (size_t)(kk + kPrefetchAhead) * kPanel * element, _MM_HINT_T0);
        __m256 w0 = load8(a->w, (size_t)kk, 0, bf16);
        __m256 w1 = load8(a->w, (size_t)kk, 1, bf16);
        for (int i = 0; i < ROWS; i++) {
            __m256 xi = _mm256_broadcast_ss(a->x + (size_t)kk * kRowsPerTile + i);
            low[i] = _mm256_fmadd_ps(xi, w0, low[i]);
            high[i] = _mm256_fmadd_ps(xi, w1, high[i]);
        }
    }
    for (int i = 0; i < ROWS; i++) {
        float *row = a->y + (size_t)i * a->ldy;
        if (a->widths[0] == kPanel) {
            if (a->load) {
                low[i] = _mm256_add_ps(low[i], _mm256_loadu_ps(row));
                high[i] = _mm256_add_ps(high[i], _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, low[i]);
            _mm256_storeu_ps(row + 8, high[i]);
        } else {
            float sums[kPanel];
            _mm256_storeu_ps(sums, low[i]);
            _mm256_storeu_ps(sums + 8, high[i]);
            store_row(sums, row, a->widths[0], a->load);
        }
    }
}

#define ROW_CASES(CALL, ...)                          \
    switch (a->rows) {                                \
    case 6: CALL(6, __VA_ARGS__); break;              \
    case 5: CALL(5, __VA_ARGS__); break;              \
    case 4: CALL(4, __VA_ARGS__); break;              \
    case 3: CALL(3, __VA_ARGS__); break;              \
    case 2: CALL(2, __VA_ARGS__); break;              \
    default: CALL(1, __VA_ARGS__); break;             \
    }

static AVX2 void tile_avx2(const tile_args *a, int bf16) {
    if (bf16) { ROW_CASES(tile_avx2_rows, 1, a) } else { ROW_CASES(tile_avx2_rows, 0, a) }
}

/// Sixteen weights of panel row `kk` as f32.
INLINE AVX512 __m512 load16(const void *w, size_t kk, int bf16) {
    if (!bf16) return _mm512_loadu_ps((const float *)w + kk * kPanel);
    __m256i raw = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + kk * kPanel));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

/// One tile of `ROWS` rows x `PANELS` panels (16 outputs each): up to 24 accumulators, and
/// each broadcast row value feeds `PANELS` FMAs.
INLINE AVX512 void tile_avx512_rows(const int ROWS, const int PANELS, const int bf16, const tile_args *a) {
    __m512 sums[kRowsPerTile][kPanelsPerTile512];
    const char *panels[kPanelsPerTile512];
    const size_t element = bf16 ? 2 : 4;
    for (int q = 0; q < PANELS; q++) panels[q] = (const char *)a->w + (size_t)q * a->panel_stride * element;
    for (int i = 0; i < ROWS; i++) {
        for (int q = 0; q < PANELS; q++) sums[i][q] = _mm512_setzero_ps();
    }
    for (int kk = 0; kk < a->inner; kk++) {
        __m512 w[kPanelsPerTile512];
        for (int q = 0; q < PANELS; q++) {
            _mm_prefetch(panels[q] + (size_t)(kk + kPrefetchAhead) * kPanel * element, _MM_HINT_T0);
            w[q] = load16(panels[q], (size_t)kk, bf16);
        }
        for (int i = 0; i < ROWS; i++) {
            __m512 xi = _mm512_set1_ps(a->x[(size_t)kk * kRowsPerTile + i]);
            for (int q = 0; q < PANELS; q++) sums[i][q] = _mm512_fmadd_ps(xi, w[q], sums[i][q]);
        }
    }
    for (int q = 0; q < PANELS; q++) {
        __mmask16 mask = (__mmask16)(a->widths[q] >= kPanel ? 0xffffu : (1u << a->widths[q]) - 1u);
        for (int i = 0; i < ROWS; i++) {
            float *row = a->y + (size_t)i * a->ldy + (size_t)q * kPanel;
            __m512 value = sums[i][q];
            if (a->load) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, row));
            _mm512_mask_storeu_ps(row, mask, value);
        }
    }
}

#define AVX512_CASE(ROWS, PANELS, BF16, A) tile_avx512_rows(ROWS, PANELS, BF16, A)
#define PANEL_CASES(BF16)                                               \
    switch (panels) {                                                   \
    case 4: ROW_CASES(AVX512_CASE, 4, BF16, a) break;                   \
    case 3: ROW_CASES(AVX512_CASE, 3, BF16, a) break;                   \
    case 2: ROW_CASES(AVX512_CASE, 2, BF16, a) break;                   \
    default: ROW_CASES(AVX512_CASE, 1, BF16, a) break;                  \
    }

static AVX512 void tile_avx512(const tile_args *a, int panels, int bf16) {
    if (bf16) { PANEL_CASES(1) } else { PANEL_CASES(0) }
}

/// Widens one inner block of `panels` bf16 panels to f32 in `widened` (`inner` x 16 floats per
/// panel, panels back to back), so that row tiles multiply without converting: with many row
/// tiles (`kWidenRows`) the widening is paid once instead of once per tile.
static AVX512 void widen_block_avx512(const tile_args *a, int panels, float *widened) {
    for (int q = 0; q < panels; q++) {
        const uint16_t *panel = (const uint16_t *)a->w + (size_t)q * a->panel_stride;
        float *target = widened + (size_t)q * a->inner * kPanel;
        for (int kk = 0; kk < a->inner; kk++) {
            _mm_prefetch((const char *)(panel + (size_t)(kk + 4 * kPrefetchAhead) * kPanel), _MM_HINT_T0);
            _mm512_store_ps(target + (size_t)kk * kPanel, load16(panel, (size_t)kk, 1));
        }
    }
}
#endif

int loma_kernel_supported(int kernel) {
    switch (kernel) {
    case LOMA_KERNEL_PORTABLE: return 1;
#if defined(__x86_64__)
    case LOMA_KERNEL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case LOMA_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
#endif
    default: return 0;
    }
}

int loma_kernel_best(void) {
    if (loma_kernel_supported(LOMA_KERNEL_AVX512)) return LOMA_KERNEL_AVX512;
    if (loma_kernel_supported(LOMA_KERNEL_AVX2)) return LOMA_KERNEL_AVX2;
    return LOMA_KERNEL_PORTABLE;
}

void loma_gemm_packed(int kernel, int weight_type, const float *x, int m, int k,
                      const void *packed, int n, int panel_begin, int panel_end,
                      float *y, int ldy, int accumulate) {
    if (!loma_kernel_supported(kernel)) kernel = LOMA_KERNEL_PORTABLE;
    const int bf16 = weight_type == LOMA_WEIGHTS_BF16;
    const size_t element = bf16 ? 2 : 4;
    const size_t panel_stride = (size_t)kPanel * (size_t)k;
    const int avx512 = kernel == LOMA_KERNEL_AVX512;
    const int step = avx512 ? kPanelsPerTile512 : 1;
    const int block = avx512 ? kInnerBlock512 : kInnerBlock;
#if defined(__x86_64__)
    // bf16 panels widened once per block when enough row tiles read them (kWidenRows).
    _Alignas(64) float widened[kPanelsPerTile512 * kInnerBlock512 * kPanel];
#endif
    for (int p = panel_begin; p < panel_end; p += step) {
        int first = p * kPanel;
        if (n - first <= 0) break;
        int panels = panel_end - p < step ? panel_end - p : step;
        tile_args a = {.x = NULL, .w = NULL, .panel_stride = panel_stride, .ldy = ldy};
        for (int q = 0; q < panels; q++) {
            int width = n - first - q * kPanel;
            a.widths[q] = width > kPanel ? kPanel : (width > 0 ? width : 0);
        }
        while (panels > 1 && a.widths[panels - 1] == 0) panels--;
        for (int k0 = 0; k0 < k; k0 += block) {
            a.inner = k - k0 < block ? k - k0 : block;
            a.load = accumulate || k0 > 0;
            a.w = (const char *)packed + ((size_t)p * panel_stride + (size_t)k0 * kPanel) * element;
            a.panel_stride = panel_stride;
            int tile_bf16 = bf16;
#if defined(__x86_64__)
            if (avx512 && bf16 && m >= kWidenRows) {
                widen_block_avx512(&a, panels, widened);
                a.w = widened;
                a.panel_stride = (size_t)a.inner * kPanel;
                tile_bf16 = 0;
            }
#endif
            for (int i0 = 0; i0 < m; i0 += kRowsPerTile) {
                a.rows = m - i0 < kRowsPerTile ? m - i0 : kRowsPerTile;
                a.x = x + ((size_t)i0 * k + (size_t)k0 * kRowsPerTile);
                a.y = y + (size_t)i0 * ldy + first;
#if defined(__x86_64__)
                if (avx512) { tile_avx512(&a, panels, tile_bf16); continue; }
                if (kernel == LOMA_KERNEL_AVX2) { tile_avx2(&a, tile_bf16); continue; }
#endif
                tile_portable(&a, tile_bf16);
            }
        }
    }
}
