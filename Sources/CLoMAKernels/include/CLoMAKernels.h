#ifndef CLOMAKERNELS_H
#define CLOMAKERNELS_H

#include <stddef.h>

/// Outputs per packed panel: two 8-float AVX vectors.
#define LOMA_PANEL_WIDTH 16

/// Floats needed to hold a `rows x columns` weight matrix packed in panels (rows rounded up
/// to a whole panel; the padding is zero).
size_t loma_packed_count(int rows, int columns);

/// Packs row-major `weight[rows, columns]` (Hugging Face `[out_features, in_features]`) into
/// panels of LOMA_PANEL_WIDTH outputs: panel p holds element (r, c) of rows
/// [16p, 16p + 16) at `packed[p * 16 * columns + c * 16 + (r - 16p)]`, so the product kernel
/// streams each panel front to back. `packed` holds `loma_packed_count` floats, 32-byte aligned.
void loma_pack(const float *weight, int rows, int columns, float *packed);

/// Floats needed for `rows x columns` activations packed by `loma_pack_rows`.
size_t loma_packed_rows_count(int rows, int columns);

/// Packs row-major `x[rows, columns]` (row stride `ldx`) into tiles of 6 rows, each stored
/// column by column, so the kernel reads the six values it broadcasts from one cache line
/// instead of six rows a multiple of 4 KiB apart (which collide in L1). Packed once per
/// product and shared by every thread.
void loma_pack_rows(const float *x, int rows, int columns, int ldx, float *packed);

/// Reads element (row, column) back out of a packed matrix (tests and inspection).
float loma_packed_element(const float *packed, int columns, int row, int column);

/// `y[m, n] (+)= x[m, k] * W[n, k]^T`, `x` packed by `loma_pack_rows`, for the panels [panel_begin, panel_end) of a packed W,
/// i.e. output columns [16 * panel_begin, min(n, 16 * panel_end)). Row stride of `y`: `ldy`.
/// `accumulate` adds into `y` instead of overwriting it. Panels never share output columns, so
/// disjoint panel ranges may run on different threads at once.
void loma_gemm_packed(const float *x, int m, int k,
                      const float *packed, int n, int panel_begin, int panel_end,
                      float *y, int ldy, int accumulate);

/// 1 when the AVX2/FMA kernel is used on this CPU, 0 for the portable one.
int loma_kernels_use_avx2(void);

#endif
