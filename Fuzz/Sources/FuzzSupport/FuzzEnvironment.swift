import Foundation

/// What every fuzz target needs from its surroundings: where the repository is (fixtures), a
/// private scratch directory for parsers that only read files, and the seed-writing mode.
public enum FuzzEnvironment {
    /// The repository root, found from this source file, since the targets are always built from
    /// a checkout (Fuzz/Sources/FuzzSupport/ is three levels below it).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A directory of fixtures under the repository, by relative path.
    public static func repositoryPath(_ relative: String) -> URL {
        repositoryRoot.appendingPathComponent(relative)
    }

    /// A directory only this process writes to, removed when the process exits normally (libFuzzer
    /// calls `exit` at the end of a bounded run). A crash leaves it behind, which is harmless and
    /// shows what the last input wrote.
    public static let scratchDirectory: URL = {
        // tmpfs where there is one: the config targets write a file for every input.
        let shared = URL(fileURLWithPath: "/dev/shm")
        let parent = FileManager.default.isWritableFile(atPath: shared.path) ? shared : FileManager.default.temporaryDirectory
        let directory = parent
            .appendingPathComponent("lomad-fuzz-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the fuzz scratch directory \(directory.path): \(error)")
        }
        atexit { try? FileManager.default.removeItem(at: FuzzEnvironment.scratchDirectory) }
        return directory
    }()

    /// Writes `bytes` to `name` in the scratch directory; a target that cannot write its own
    /// scratch file cannot test anything, so failure stops the run.
    @discardableResult
    public static func writeScratch(_ name: String, _ bytes: some Collection<UInt8>) -> URL {
        let url = scratchDirectory.appendingPathComponent(name)
        do {
            try Data(bytes).write(to: url)
        } catch {
            fatalError("cannot write fuzz scratch file \(url.path): \(error)")
        }
        return url
    }

    /// When `LOMA_FUZZ_WRITE_SEEDS` names a directory, writes `seeds` there (file name -> bytes)
    /// and exits; Fuzz/run.sh uses it to (re)build `Fuzz/Corpus/<target>/`. Called from
    /// `LLVMFuzzerInitialize`, before libFuzzer reads any corpus.
    public static func writeSeedsIfAsked(_ seeds: () throws -> [String: [UInt8]]) {
        guard let path = ProcessInfo.processInfo.environment["LOMA_FUZZ_WRITE_SEEDS"], !path.isEmpty else { return }
        let directory = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let all = try seeds()
            for (name, bytes) in all.sorted(by: { $0.key < $1.key }) {
                try Data(bytes).write(to: directory.appendingPathComponent(name))
            }
            print("wrote \(all.count) seeds to \(directory.path)")
            exit(0)
        } catch {
            print("cannot write seeds to \(directory.path): \(error)")
            exit(1)
        }
    }
}

extension FuzzEnvironment {
    /// `LOMA_FUZZ_VERBOSE=1` makes the targets say what each input did (which error, which
    /// reply): the quickest way to see why an input in the corpus or a crash file matters.
    public static let verbose = ProcessInfo.processInfo.environment["LOMA_FUZZ_VERBOSE"].map { !$0.isEmpty && $0 != "0" } ?? false

    public static func trace(_ message: @autoclosure () -> String) {
        // stderr, unbuffered, so the lines interleave with libFuzzer's own output.
        if verbose { FileHandle.standardError.write(Data("[fuzz] \(message())\n".utf8)) }
    }
}

/// An invariant a parser must keep for every input. Breaking one is a bug even without a memory
/// error, so it stops the run the way a crash does and libFuzzer saves the input.
public func fuzzRequire(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                        file: StaticString = #file, line: UInt = #line) {
    if !condition() {
        fatalError("fuzz invariant broken: \(message())", file: file, line: line)
    }
}
