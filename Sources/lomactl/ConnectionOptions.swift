import ArgumentParser
import Foundation
import LoMAClient
import LoMAProtocol

/// Options every command that talks to the daemon shares.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Daemon endpoint: ipc:///absolute/path or tcp://HOST:PORT (default \(Endpoint.defaultIPC)).")
    var endpoint: String?

    @Option(help: "Seconds to wait for each reply.")
    var timeout: Double = Double(LoMAClient.defaultTimeout.components.seconds)

    @Option(help: "Attempts after a timeout, on a fresh connection (only for requests safe to repeat).")
    var retries: Int = LoMAClient.defaultRetries

    @Option(help: "For a CURVE (tcp) endpoint: the daemon's public key, or a file holding it.")
    var serverKey: String?

    @Option(help: "For a CURVE (tcp) endpoint: this client's secret key file (lomactl keygen).")
    var clientKey: String?

    @Flag(help: "Print the reply as JSON.")
    var json = false

    func validate() throws {
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        guard retries >= 0 else { throw ValidationError("--retries must not be negative") }
        guard (serverKey == nil) == (clientKey == nil) else {
            throw ValidationError("--server-key and --client-key go together")
        }
    }

    /// The client for these options. The endpoint is parsed here, before any socket exists, so a
    /// typo fails with exit 2 and the fix in the message instead of as a daemon error.
    func makeClient() throws -> LoMAClient {
        let target = try endpoint.map { try Endpoint(connectingTo: $0) } ?? .defaultIPC
        var curve: CurveClientKeys?
        if let serverKey, let clientKey {
            do {
                curve = try CurveClientKeys(server: serverKey, secretKeyFile: clientKey)
            } catch {
                throw CommandFailure(.usage, "cannot use --server-key/--client-key: \(error)")
            }
        }
        return try LoMAClient(endpoint: target, timeout: .milliseconds(Int(timeout * 1000)), retries: retries, curve: curve)
    }
}

/// Runs `body` with a client for `options`, reporting failures as `lomactl: COMMAND: WHY` with
/// the exit code of their kind (see `ExitStatus`).
func withClient<Result>(_ command: String, _ options: ConnectionOptions,
                        _ body: (LoMAClient) async throws -> Result) async throws -> Result {
    try await reporting(command) { try await body(try options.makeClient()) }
}
