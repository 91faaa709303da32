import ArgumentParser
import LoMAClient
import LoMAProtocol

/// Options every command that talks to the daemon shares.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Daemon endpoint (ipc://PATH or tcp://HOST:PORT); default \(Endpoint.defaultIPC).")
    var endpoint: String?

    @Option(help: "Seconds to wait for each reply.")
    var timeout: Double = 5

    @Option(help: "Attempts after a timeout, on a fresh connection (only for requests safe to repeat).")
    var retries: Int = 1

    @Option(help: "For a CURVE (tcp) endpoint: the daemon's public key, or a file holding it.")
    var serverKey: String?

    @Option(help: "For a CURVE (tcp) endpoint: this client's secret key file (lomactl keygen).")
    var clientKey: String?

    @Flag(help: "Print the reply as JSON.")
    var json = false

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard retries >= 0 else { throw ValidationError("--retries must not be negative") }
        guard (serverKey == nil) == (clientKey == nil) else {
            throw ValidationError("--server-key and --client-key go together")
        }
    }

    func makeClient() throws -> LoMAClient {
        let target = try endpoint.map { try Endpoint($0) } ?? .defaultIPC
        var curve: CurveClientKeys?
        if let serverKey, let clientKey {
            do {
                curve = try CurveClientKeys(server: serverKey, secretKeyFile: clientKey)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        return try LoMAClient(endpoint: target, timeout: .milliseconds(Int(timeout * 1000)), retries: retries, curve: curve)
    }
}

/// Runs a client call and turns its failures into a one-line message and a distinct exit code,
/// so scripts can tell "daemon down" (3) from "daemon said no" (4) from "not admitted" (5).
func withClient<Result>(_ options: ConnectionOptions, _ body: (LoMAClient) async throws -> Result) async throws -> Result {
    do {
        return try await body(try options.makeClient())
    } catch let error as LoMAClientError {
        printError("lomactl: \(error)")
        if case .refused = error { throw ExitCode(5) }
        throw ExitCode(3)
    } catch let error as StatusError {
        printError("lomactl: lomad answered \(error)")
        throw ExitCode(4)
    }
}
