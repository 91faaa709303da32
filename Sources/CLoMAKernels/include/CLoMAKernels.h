#ifndef CLOMAKERNELS_H
#define CLOMAKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Outputs per packed panel: one 16-float AVX-512 vector, or two AVX ones.
#define LOMA_PANEL_WIDTH 16

/// The product kernels, one per instruction set. Every entry point takes the kernel to use, so
/// callers (and tests) choose it explicitly; one the CPU lacks is replaced by the portable one
/// (never an illegal instruction), and `loma_kernel_supported` says which are real here.
enum {
    /// Plain C loops the compiler vectorises for the baseline ISA (any x86-64 or arm64).
    LOMA_KERNEL_PORTABLE = 0,
    /// 6 rows x 16 outputs, AVX2 + FMA (x86-64 since 2013).
    LOMA_KERNEL_AVX2 = 1,
    /// 6 rows x 64 outputs (four panels), AVX-512F.
    LOMA_KERNEL_AVX512 = 2,
};

/// How the packed weights are stored; products always accumulate in f32.
enum {
    LOMA_WEIGHTS_F32 = 0,
    /// bfloat16 (the upper half of an f32), widened to f32 by a shift as the kernel loads it.
    LOMA_WEIGHTS_BF16 = 1,
};

/// 1 when this CPU (and OS) can run `kernel`.
int loma_kernel_supported(int kernel);

/// The fastest kernel this CPU can run.
int loma_kernel_best(void);

/// Elements (f32 or bf16) needed to hold a `rows x columns` weight matrix packed in panels
/// (rows rounded up to a whole panel; the padding is zero).
size_t loma_packed_count(int rows, int columns);

/// Packs panels [panel_begin, panel_end) of row-major `weight[rows, columns]` (Hugging Face
/// `[out_features, in_features]`): panel p holds element (r, c) of rows [16p, 16p + 16) at
/// `packed[p * 16 * columns + c * 16 + (r - 16p)]`, so the product kernel streams each panel
/// front to back. `packed` holds `loma_packed_count` elements of `weight_type` (f32, or bf16
/// rounded to nearest even), 64-byte aligned. Disjoint panel ranges may be packed by different
/// threads at once.
void loma_pack(const float *weight, int rows, int columns, int weight_type, int panel_begin, int panel_end, void *packed);

/// Reads element (row, column) back out of a packed matrix as f32 (tests and inspection).
float loma_packed_element(const void *packed, int weight_type, int columns, int row, int column);

/// Floats needed for `rows x columns` activations packed by `loma_pack_rows`.
size_t loma_packed_rows_count(int rows, int columns);

/// Packs row-major `x[rows, columns]` (row stride `ldx`) into tiles of 6 rows, each stored
/// column by column, so the kernel reads the six values it broadcasts from one cache line
/// instead of six rows a multiple of 4 KiB apart (which collide in L1). Packed once per
/// product and shared by every thread; the same layout serves every kernel.
void loma_pack_rows(const float *x, int rows, int columns, int ldx, float *packed);

/// `y[m, n] (+)= x[m, k] * W[n, k]^T`, `x` packed by `loma_pack_rows`, for the panels
/// [panel_begin, panel_end) of a packed W of `weight_type`, i.e. output columns
/// [16 * panel_begin, min(n, 16 * panel_end)). Row stride of `y`: `ldy`. `accumulate` adds into
/// `y` instead of overwriting it. Panels never share output columns, so disjoint panel ranges
/// may run on different threads at once. Every kernel sums in f32, in k order within blocks of
/// the inner dimension, so the kernels agree to rounding; for one kernel, bf16 weights give
/// bit for bit the result of the same values held as f32 (the widening is exact).
void loma_gemm_packed(int kernel, int weight_type, const float *x, int m, int k,
                      const void *packed, int n, int panel_begin, int panel_end,
                      float *y, int ldy, int accumulate);

#endif
