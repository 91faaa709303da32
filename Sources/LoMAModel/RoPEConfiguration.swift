import Foundation
import LoMATensorIO

/// Rotary embedding parameters, normalised from either config style: transformers v4 puts
/// `rope_theta` at the top level and scaling in `rope_scaling` (`type` or `rope_type`), v5 puts
/// everything in `rope_parameters`.
public struct RoPEConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case `default`, linear, llama3
    }

    public var kind: Kind
    public var theta: Double
    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    public var originalMaxPositionEmbeddings: Double

    /// The inverse frequencies for `headDim`, computed in double precision as transformers'
    /// `_compute_default_rope_parameters` / `_compute_linear_scaling_rope_parameters` /
    /// `_compute_llama3_parameters` define them.
    public func inverseFrequencies(headDim: Int) -> [Double] {
        let base = (0..<(headDim / 2)).map { 1.0 / pow(theta, Double(2 * $0) / Double(headDim)) }
        switch kind {
        case .default:
            return base
        case .linear:
            return base.map { $0 / factor }
        case .llama3:
            let lowFrequencyWavelength = originalMaxPositionEmbeddings / lowFrequencyFactor
            let highFrequencyWavelength = originalMaxPositionEmbeddings / highFrequencyFactor
            return base.map { frequency in
                let wavelength = 2 * Double.pi / frequency
                if wavelength < highFrequencyWavelength { return frequency }
                if wavelength > lowFrequencyWavelength { return frequency / factor }
                let smooth = (originalMaxPositionEmbeddings / wavelength - lowFrequencyFactor)
                    / (highFrequencyFactor - lowFrequencyFactor)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
        }
    }
}

/// The rope dictionaries as they appear in JSON (both styles share these keys).
struct RoPEParametersJSON: Codable {
    var ropeType: String?
    var type: String?
    var ropeTheta: Double?
    var factor: Double?
    var lowFreqFactor: Double?
    var highFreqFactor: Double?
    var originalMaxPositionEmbeddings: Double?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type"
        case type
        case ropeTheta = "rope_theta"
        case factor
        case lowFreqFactor = "low_freq_factor"
        case highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    /// Normalises to `RoPEConfiguration`; `field` names the JSON key in errors.
    func resolved(theta fallbackTheta: Double?, field: String) throws -> RoPEConfiguration {
        let typeName = ropeType ?? type ?? "default"
        guard let kind = RoPEConfiguration.Kind(rawValue: typeName) else {
            throw LoMAModelError.checkpoint("config.json: \(field).rope_type '\(typeName)' is not supported (default, linear, llama3)")
        }
        var configuration = RoPEConfiguration(
            kind: kind, theta: ropeTheta ?? fallbackTheta ?? 10_000, factor: factor ?? 1,
            lowFrequencyFactor: lowFreqFactor ?? 1, highFrequencyFactor: highFreqFactor ?? 4,
            originalMaxPositionEmbeddings: originalMaxPositionEmbeddings ?? 8192)
        switch kind {
        case .default:
            configuration.factor = 1
        case .linear:
            guard let factor, factor > 0 else {
                throw LoMAModelError.checkpoint("config.json: \(field).factor must be a positive number for linear RoPE")
            }
        case .llama3:
            // Each missing or unusable field is named on its own (as the numpy reference does).
            guard let factor, factor > 0 else {
                throw LoMAModelError.checkpoint("config.json: \(field).factor must be a positive number for llama3 RoPE")
            }
            guard let lowFreqFactor, lowFreqFactor > 0 else {
                throw LoMAModelError.checkpoint("config.json: \(field).low_freq_factor must be a positive number for llama3 RoPE")
            }
            guard let highFreqFactor, highFreqFactor > lowFreqFactor else {
                throw LoMAModelError.checkpoint(
                    "config.json: \(field).high_freq_factor must be a number above low_freq_factor \(lowFreqFactor) for llama3 RoPE")
            }
            guard let originalMaxPositionEmbeddings, originalMaxPositionEmbeddings > 0 else {
                throw LoMAModelError.checkpoint(
                    "config.json: \(field).original_max_position_embeddings must be a positive number for llama3 RoPE")
            }
        }
        return configuration
    }
}
