import COpenBLAS

/// The only place that calls into OpenBLAS, so the row-major/transpose conventions are written
/// once: every weight is stored as Hugging Face does, `[out_features, in_features]`, and every
/// activation as `[rows, features]`. The weight products themselves run on the packed kernel
/// (`Linear`); OpenBLAS serves the small attention products.
public enum BLAS {
    /// Sets how many threads the engine uses: its own product kernel and row-wise loops, and
    /// OpenBLAS (whose default is the core count).
    public static func setThreadCount(_ count: Int) {
        Parallel.requestedThreads.store(max(1, count), ordering: .relaxed)
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// Threads the engine uses for each product.
    public static var threadCount: Int { Parallel.threadCount }

    /// `C[rows, out] = alpha * A[rows, in] * W[out, in]^T + beta * C`, with leading dimensions
    /// (row strides) for A and C so column blocks of wider matrices can be read or written in place.
    @inline(__always)
    static func multiplyTransposed(
        _ a: UnsafePointer<Float>, rows: Int, inner: Int, lda: Int,
        _ w: UnsafePointer<Float>, outer: Int, ldw: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0
    ) {
        guard rows > 0, outer > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outer), Int32(inner),
                    alpha, a, Int32(lda), w, Int32(ldw), beta, c, Int32(ldc))
    }

    /// `C[rows, cols] = A[rows, inner] * B[inner, cols] + beta * C` (B not transposed).
    @inline(__always)
    static func multiply(
        _ a: UnsafePointer<Float>, rows: Int, inner: Int, lda: Int,
        _ b: UnsafePointer<Float>, cols: Int, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0
    ) {
        guard rows > 0, cols > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(cols), Int32(inner),
                    1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
