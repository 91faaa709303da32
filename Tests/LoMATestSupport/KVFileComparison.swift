import Foundation
import LoMAModel
import LoMATensorIO

/// The numbers the correctness tests judge by.
public enum KVFileComparison {
    /// `||actual - expected|| / ||expected||` (Frobenius), in double precision; infinity when
    /// the shapes differ so a shape bug can never pass.
    public static func relativeError(_ actual: Tensor, _ expected: Tensor) -> Double {
        guard actual.shape == expected.shape else { return .infinity }
        var difference = 0.0, reference = 0.0
        actual.withUnsafeBufferPointer { a in
            expected.withUnsafeBufferPointer { e in
                for index in 0..<e.count {
                    let delta = Double(a[index]) - Double(e[index])
                    difference += delta * delta
                    reference += Double(e[index]) * Double(e[index])
                }
            }
        }
        return reference == 0 ? (difference == 0 ? 0 : .infinity) : (difference / reference).squareRoot()
    }

    /// The expected output of a golden case.
    public static func expected(_ url: URL) throws -> (keys: Tensor, values: Tensor, positions: [Int64]) {
        let file = try SafetensorsFile(url: url)
        return (try file.readTensor("keys"), try file.readTensor("values"), try file.readInt64("positions"))
    }
}
