/// An owned, row-major f32 tensor over 64-byte-aligned memory. Weights, results and scratch all
/// use it; the other dtypes exist only at the edges (files, frames) and are converted there.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: AlignedStorage

    /// Zero-filled tensor of `shape`.
    public init(zeros shape: [Int]) {
        self.shape = shape
        storage = AlignedStorage(count: shape.reduce(1, *))
    }

    /// Tensor holding `values` (row-major) with `shape`; the counts must agree.
    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(zeros: shape)
        _ = UnsafeMutableBufferPointer(start: storage.pointer, count: values.count).update(fromContentsOf: values)
    }

    public var count: Int { storage.count }

    /// Read-only access; the pointer is valid only inside `body`.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// The values as an array (tests and small outputs).
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// Mutable access for code that builds the tensor before publishing it (the engine, within
    /// this package; other code sees tensors only once they are built).
    package var mutablePointer: UnsafeMutablePointer<Float> { storage.pointer }
}
