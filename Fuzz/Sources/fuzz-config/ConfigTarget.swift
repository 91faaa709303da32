import Foundation
import FuzzSupport
import LoMAModel
import LoMAService

/// Fuzzes the two configuration parsers an operator's files go through. The first byte picks
/// the parser (the rest is the file):
/// - even: a Hugging Face `config.json`, loaded with `LlamaModel.load` from a directory whose
///   weights are a small fixture checkpoint, so a configuration that decodes is also checked
///   against real weights the way `lomad serve` checks it;
/// - odd: a `lomad.toml`, resolved with `ServiceSettings.resolve`, and the same text as a
///   clients file (`ClientAllowList`); settings that resolve must
///   print (`tomlText`) to a file that resolves to the same settings. The same text is also given
///   as the `LOMAD_*` variable of the key `byte >> 1` picks (up to its first NUL, as the kernel
///   would pass it), which goes through the parser flags use, and as `lomad serve` arguments split
///   at blanks (the flags each key declares).
enum ConfigTarget {
    static let fixtureWeights = FuzzEnvironment.repositoryPath("Tests/LoMAModelTests/Fixtures/models/llama_gqa/model.safetensors")

    /// The model directory: the fuzzed `config.json` next to a link to the fixture's weights.
    static let modelDirectory: URL = {
        let directory = FuzzEnvironment.scratchDirectory.appendingPathComponent("model")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("model.safetensors"),
                                                       withDestinationURL: fixtureWeights)
        } catch {
            fatalError("cannot set up the fuzz model directory \(directory.path): \(error)")
        }
        return directory
    }()

    static func run(_ input: [UInt8]) {
        guard let selector = input.first else { return }
        let text = input.dropFirst()
        if selector & 1 == 0 {
            loadModel(configuration: text)
        } else {
            resolveSettings(text)
            readClientsFile(text)
            let key = ServiceSettings.keys[Int(selector >> 1) % ServiceSettings.keys.count]
            // An environment variable is a C string: it ends at the first NUL.
            resolveEnvironment(key, String(decoding: text.prefix { $0 != 0 }, as: UTF8.self))
            resolveFlags(String(decoding: text, as: UTF8.self))
        }
    }

    private static func loadModel(configuration: ArraySlice<UInt8>) {
        let url = modelDirectory.appendingPathComponent("config.json")
        do {
            try Data(configuration).write(to: url)
            _ = try LlamaModel.load(directory: modelDirectory)
            FuzzEnvironment.trace("model loaded")
        } catch let error as LoMAModelError {
            FuzzEnvironment.trace("model: \(error.message)")
            fuzzRequire(error.message.contains(modelDirectory.path), "a model error does not name the file: \(error.message)")
        } catch {
            fuzzRequire(false, "loading a model threw a non-model error: \(error)")
        }
    }

    /// The clients file (`auth.clients_file`) goes through the same TOML parser, read again on
    /// every SIGHUP: any text must give an allow-list or an error, never an abort.
    private static func readClientsFile(_ text: ArraySlice<UInt8>) {
        let url = FuzzEnvironment.writeScratch("clients.toml", text)
        do {
            let list = try ClientAllowList(contentsOf: url)
            FuzzEnvironment.trace("clients file: \(list.tenants.count) tenants")
        } catch {
            fuzzRequire(error.description.contains(url.path), "a clients-file error does not name the file: \(error)")
        }
    }

    private static func resolveSettings(_ text: ArraySlice<UInt8>) {
        let url = FuzzEnvironment.writeScratch("lomad.toml", text)
        resolve(naming: .file(url.path)) { try ServiceSettings.resolve(file: url) }
    }

    private static func resolveEnvironment(_ key: SettingKey, _ text: String) {
        resolve(naming: .environment(key.environmentVariable)) {
            try ServiceSettings.resolve(file: nil, environment: [key.environmentVariable: text])
        }
    }

    /// The same text as `lomad serve` arguments (split at blanks and line ends), read through
    /// the flags the keys declare: settings or a settings error naming a command-line flag.
    private static func resolveFlags(_ text: String) {
        let arguments = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        let settings: ServiceSettings
        do {
            settings = try ServiceSettings.resolve(file: nil, flags: try ServiceSettings.assignments(flags: arguments))
        } catch let error as SettingsError {
            FuzzEnvironment.trace("flags: \(error)")
            let namesFlag = if case .flag = error.source { true } else { false }
            fuzzRequire(namesFlag || error.source == .file("(effective settings)"), "a flag error names the wrong source: \(error)")
            return
        } catch {
            fuzzRequire(false, "resolving flags threw a non-settings error: \(error)")
            return
        }
        checkPrintsBack(settings)
    }

    /// Settings that resolve must print back; a refusal must be a settings error naming `source`
    /// (or the effective settings, for checks across keys).
    private static func resolve(naming source: SettingSource, _ body: () throws -> ServiceSettings) {
        let settings: ServiceSettings
        do {
            settings = try body()
        } catch let error as SettingsError {
            FuzzEnvironment.trace("\(source): \(error)")
            fuzzRequire(error.source == source || error.source == .file("(effective settings)"),
                        "a settings error names the wrong source: \(error)")
            return
        } catch {
            fuzzRequire(false, "resolving settings threw a non-settings error: \(error)")
            return
        }
        checkPrintsBack(settings)
    }

    /// `lomad serve --print-config` must write a file that resolves to the settings it printed.
    private static func checkPrintsBack(_ settings: ServiceSettings) {
        FuzzEnvironment.trace("settings resolved")
        let printed = FuzzEnvironment.writeScratch("printed.toml", Array(settings.tomlText.utf8))
        do {
            let reread = try ServiceSettings.resolve(file: printed)
            fuzzRequire(reread == settings, "printed settings read back differently:\n\(settings.tomlText)")
        } catch {
            fuzzRequire(false, "printed settings do not resolve: \(error)\n\(settings.tomlText)")
        }
    }

    /// Every `config.json` in Models/ and the fixtures (selector 0), and the shipped `lomad.toml`
    /// and the daemon's defaults as printed (selector 1).
    static func seeds() throws -> [String: [UInt8]] {
        var seeds: [String: [UInt8]] = [:]
        for root in ["Models", "Tests/LoMAModelTests/Fixtures/models"] {
            let directory = FuzzEnvironment.repositoryPath(root)
            for model in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
                let config = directory.appendingPathComponent(model).appendingPathComponent("config.json")
                guard let bytes = try? Data(contentsOf: config) else { continue }
                seeds["config-\(model)"] = [0] + bytes
            }
        }
        seeds["toml-systemd"] = [1] + (try Data(contentsOf: FuzzEnvironment.repositoryPath("systemd/lomad.toml")))
        seeds["toml-defaults"] = [1] + Array(ServiceSettings().tomlText.utf8)
        seeds["toml-small"] = [3] + Array("""
            endpoints = ["tcp://127.0.0.1:*", "ipc:///tmp/lomad.sock"]
            models = ["m=/srv/models/loma-tiny"]
            [store]
            mode = "memory"
            ram_budget_bytes = 1_048_576
            [socket]
            mode = "0640"
            [metrics]
            listen = "[::1]:9464"
            [log]
            level = "debug"

            """.utf8)
        return seeds
    }
}
