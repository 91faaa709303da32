import Foundation
import LoMAProtocol

/// Where `lomad serve` reads its settings from, kept so that SIGHUP reads the same file, flags
/// and environment again.
public struct SettingsSources: Sendable {
    public let file: URL?
    public let flags: [SettingAssignment]
    public let environment: [String: String]

    /// - Parameters:
    ///   - configurationFlag: `--config`, when given.
    ///   - flags: the keys the command line sets.
    public init(configurationFlag: String?, flags: [SettingAssignment], environment: [String: String]) throws {
        file = try Self.configurationFile(flag: configurationFlag, environment: environment)
        self.flags = flags
        self.environment = environment
    }

    /// The settings in force, with the default endpoint and model filled in so that
    /// `--print-config` shows what the daemon will really use.
    public func resolve() throws -> ServiceSettings {
        var settings = try ServiceSettings.resolve(file: file, flags: flags, environment: environment)
        if settings.endpoints.isEmpty {
            settings.endpoints = [defaultEndpoint.description]
        }
        if settings.models.isEmpty, let shipped = ShippedModel.locate() {
            settings.models = ["\(shipped.name)=\(shipped.directory.path)"]
        }
        return settings
    }

    /// systemd's `RuntimeDirectory=` when set, else the user's runtime directory.
    public var defaultEndpoint: Endpoint {
        if let runtime = environment["RUNTIME_DIRECTORY"]?.split(separator: ":").first, !runtime.isEmpty,
           let endpoint = try? Endpoint("ipc://\(runtime)/lomad.sock") {
            return endpoint
        }
        return Endpoint.defaultIPC
    }

    /// `$LOMAD_CONFIG`, else `--config`, else `lomad.toml` in systemd's `ConfigurationDirectory=`
    /// when it exists there. A file named explicitly must exist.
    private static func configurationFile(flag: String?, environment: [String: String]) throws -> URL? {
        if let path = environment["LOMAD_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) ?? flag {
            guard FileManager.default.fileExists(atPath: path) else {
                throw SettingsError(source: environment["LOMAD_CONFIG"] != nil ? .environment("LOMAD_CONFIG") : .flag("--config"),
                                    key: "", value: "", problem: "configuration file \(path) does not exist")
            }
            return URL(fileURLWithPath: path)
        }
        if let directory = environment["CONFIGURATION_DIRECTORY"]?.split(separator: ":").first {
            let file = URL(fileURLWithPath: String(directory)).appendingPathComponent("lomad.toml")
            if FileManager.default.fileExists(atPath: file.path) { return file }
        }
        return nil
    }
}
