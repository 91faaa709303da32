import Foundation

/// Files of the source tree that tests of several targets read, found from this file's own path
/// (tests run from a checkout).
public enum RepositoryPaths {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The golden model fixtures written by `Tools/make_fixtures.py`.
    public static var modelFixtures: ModelFixtures {
        ModelFixtures(root: root.appendingPathComponent("Tests/LoMAModelTests/Fixtures"))
    }
}
