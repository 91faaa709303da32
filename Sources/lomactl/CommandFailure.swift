import ArgumentParser
import LoMAClient
import LoMAProtocol
import LoMATensorIO

/// lomactl's exit codes, shared with lomad-compress (Examples/README.md "Timeouts and errors"),
/// so a script can tell a typo from a daemon that is down from a daemon that said no.
enum ExitStatus: Int32 {
    case ok = 0
    /// Anything else, e.g. the output file cannot be written.
    case failure = 1
    case invalidEndpoint = 2
    /// No socket file, connection refused, or no reply within the timeout on every attempt.
    case noDaemon = 3
    case daemonError = 4
    /// A CURVE endpoint refused this client's key.
    case notAdmitted = 5
    /// Bad flags (ArgumentParser's EX_USAGE).
    case usage = 64
    /// An input file that is not safetensors, lacks a tensor or has the wrong shape (EX_DATAERR).
    case badInput = 65

    /// The table `lomactl --help` prints.
    static let help = """
        Exit codes: 0 ok; 1 unexpected failure (e.g. the output file cannot be written); 2 invalid endpoint; \
        3 no daemon answered (no socket file, connection refused, timeout); 4 lomad answered with an error \
        status; 5 not admitted (CURVE key refused); 64 usage error (bad flags); 65 bad input file (not \
        safetensors, missing tensor, wrong shape). Errors go to stderr as one line: lomactl: COMMAND: WHY.
        Requests wait --timeout seconds (default 5) per attempt and are sent up to --retries more times \
        (default 2) on a fresh connection, only when they are safe to repeat.
        """
}

/// A failure lomactl itself diagnosed, with the exit code it maps to.
struct CommandFailure: Error, CustomStringConvertible {
    let status: ExitStatus
    let description: String

    init(_ status: ExitStatus, _ description: String) {
        self.status = status
        self.description = description
    }
}

/// Runs a command's body and turns every failure into one line on stderr,
/// `lomactl: COMMAND: WHY`, and the exit code for its kind.
func reporting<Result>(_ command: String, _ body: () async throws -> Result) async throws -> Result {
    let status: ExitStatus
    let message: String
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CommandFailure {
        (status, message) = (error.status, error.description)
    } catch let error as EndpointError {
        (status, message) = (.invalidEndpoint, error.description)
    } catch let error as LoMAClientError {
        switch error {
        case .refused: status = .notAdmitted
        case .unavailable, .timeout: status = .noDaemon
        case .malformedReply, .sharedMemory: status = .failure
        }
        message = error.description
    } catch let error as StatusError {
        (status, message) = (.daemonError, "lomad answered \(error)")
    } catch let error as TensorIOError {
        (status, message) = (error.kind == .io ? .failure : .badInput, error.message)
    } catch {
        (status, message) = (.failure, "\(error)")
    }
    printError("lomactl: \(command): \(message)")
    throw ExitCode(status.rawValue)
}
