import Foundation
import LoMAModel
import LoMATensorIO

/// The golden fixtures written by `Tools/make_fixtures.py` (the numpy reference): small random
/// checkpoints under `models/` and compression cases under `cases/`.
public struct ModelFixtures: Sendable {
    public let root: URL

    /// `root` is the `Fixtures` folder copied into a test bundle's resources.
    public init(root: URL) {
        self.root = root
    }

    public var modelsDirectory: URL { root.appendingPathComponent("models") }
    public var casesDirectory: URL { root.appendingPathComponent("cases") }

    public func model(_ name: String) -> URL { modelsDirectory.appendingPathComponent(name) }

    /// Every case folder, sorted, so new cases are picked up without touching the tests.
    public func caseNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: casesDirectory.path)
            .filter { FileManager.default.fileExists(atPath: casesDirectory.appendingPathComponent("\($0)/case.json").path) }
            .sorted()
    }

    public func loadCase(_ name: String) throws -> ModelFixtureCase {
        let directory = casesDirectory.appendingPathComponent(name)
        let data = try Data(contentsOf: directory.appendingPathComponent("case.json"))
        let description = try JSONDecoder().decode(ModelFixtureCase.Description.self, from: data)
        return ModelFixtureCase(name: name, directory: directory, modelDirectory: model(description.model), description: description)
    }
}

/// One golden case: its `case.json` and the files beside it.
public struct ModelFixtureCase: Sendable {
    public struct Description: Codable, Sendable {
        public let model: String
        public let position: Int
        public let method: String
        public let layout: String
        public let inputDType: String
        public let segments: Int
        public let hasContext: Bool
        public let description: String

        enum CodingKeys: String, CodingKey {
            case model, position, method, layout, segments, description
            case inputDType = "input_dtype"
            case hasContext = "has_context"
        }
    }

    public let name: String
    public let directory: URL
    public let modelDirectory: URL
    public let description: Description

    public var input: URL { directory.appendingPathComponent("input.safetensors") }
    public var context: URL? { description.hasContext ? directory.appendingPathComponent("context.safetensors") : nil }
    public var expected: URL { directory.appendingPathComponent("expected.safetensors") }

    public var method: CompressionMethod? { CompressionMethod(rawValue: description.method) }
    public var layout: KVLayout? { KVLayout(rawValue: description.layout) }
}
