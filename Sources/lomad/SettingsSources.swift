import ArgumentParser
import Foundation
import LoMAProtocol
import LoMAServer

/// Where `lomad serve` reads its settings from, kept so that SIGHUP reads the same file, flags
/// and environment again.
struct SettingsSources: Sendable {
    let file: URL?
    let flags: [SettingAssignment]
    let environment: [String: String]

    init(command: Serve, environment: [String: String]) throws {
        file = try Self.configurationFile(flag: command.config, environment: environment)
        flags = try Self.assignments(of: command)
        self.environment = environment
    }

    /// The settings in force, with the default endpoint and model filled in so that
    /// `--print-config` shows what the daemon will really use.
    func resolve() throws -> ServiceSettings {
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
    var defaultEndpoint: Endpoint {
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

    /// The flags given, as the keys they set.
    private static func assignments(of command: Serve) throws -> [SettingAssignment] {
        var result = command.assignments.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            return SettingAssignment(flag: "--set \(text)", key: parts.first ?? "", text: parts.count == 2 ? parts[1] : "")
        }
        if let bad = command.assignments.first(where: { !$0.contains("=") }) {
            throw SettingsError(source: .flag("--set"), key: bad, value: "", problem: "expected KEY=VALUE")
        }
        result += command.endpoints.map { SettingAssignment(flag: "--endpoint", key: "endpoints", text: $0) }
        result += command.models.map { SettingAssignment(flag: "--model", key: "models", text: $0) }
        if command.durable { result.append(SettingAssignment(flag: "--durable", key: "store.mode", text: "durable")) }
        if command.storeInt8 { result.append(SettingAssignment(flag: "--store-int8", key: "store.quantization", text: "int8")) }
        let options: [(String, String, String?)] = [
            ("--store-dir", "store.directory", command.storeDir),
            ("--ram-budget-bytes", "store.ram_budget_bytes", command.ramBudgetBytes),
            ("--map-size-bytes", "store.map_size_bytes", command.mapSizeBytes),
            ("--workers", "threads.workers", command.workers),
            ("--blas-threads", "threads.blas", command.blasThreads),
            ("--queue-depth", "limits.queue_depth", command.queueDepth),
            ("--max-queued-bytes", "limits.max_queued_bytes", command.maxQueuedBytes),
            ("--max-frame-bytes", "limits.max_frame_bytes", command.maxFrameBytes),
            ("--max-frames", "limits.max_frames", command.maxFrames),
            ("--drain-timeout", "limits.drain_timeout_seconds", command.drainTimeout),
            ("--max-segments", "limits.max_segments_per_request", command.maxSegments),
            ("--max-compute-seconds", "limits.max_compute_seconds", command.maxComputeSeconds),
            ("--tenant-queue-percent", "limits.tenant_queue_percent", command.tenantQueuePercent),
            ("--batch-window-ms", "batching.window_ms", command.batchWindowMs),
            ("--max-batch", "batching.max_requests", command.maxBatch),
            ("--server-secret-key-file", "auth.server_secret_key_file", command.serverSecretKeyFile),
            ("--clients-file", "auth.clients_file", command.clientsFile),
            ("--socket-mode", "socket.mode", command.socketMode),
            ("--socket-group", "socket.group", command.socketGroup),
            ("--metrics-listen", "metrics.listen", command.metricsListen),
            ("--log-level", "log.level", command.logLevel),
        ]
        result += options.compactMap { flag, key, value in value.map { SettingAssignment(flag: flag, key: key, text: $0) } }
        return result
    }
}
