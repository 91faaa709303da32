import Foundation

/// A process's resident memory as the kernel reports it in `/proc/PID/status`: what load and
/// leak tests compare against the daemon's configured budgets.
public struct ProcessMemory: Sendable, CustomStringConvertible {
    /// Resident now (`VmRSS`), in bytes.
    public let residentBytes: Int
    /// The most ever resident (`VmHWM`) since start or the last ``resetPeak(pid:)``, in bytes.
    public let peakResidentBytes: Int

    public enum ReadError: Error, CustomStringConvertible {
        case unreadable(pid: Int32, reason: String)
        case missingField(pid: Int32, field: String)

        public var description: String {
            switch self {
            case let .unreadable(pid, reason): "cannot read /proc/\(pid)/status: \(reason)"
            case let .missingField(pid, field): "/proc/\(pid)/status has no \(field) line"
            }
        }
    }

    /// Reads `pid`'s figures; throws when the process is gone.
    public static func of(pid: Int32) throws(ReadError) -> ProcessMemory {
        let text: String
        do {
            text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        } catch {
            throw .unreadable(pid: pid, reason: "\(error)")
        }
        func kibibytes(_ field: String) throws(ReadError) -> Int {
            // Lines look like "VmRSS:\t   32608 kB".
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                  let value = line.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).first.flatMap({ Int($0) })
            else { throw .missingField(pid: pid, field: field) }
            return value * 1024
        }
        return ProcessMemory(residentBytes: try kibibytes("VmRSS"), peakResidentBytes: try kibibytes("VmHWM"))
    }

    /// Starts `VmHWM` over at the current RSS (proc(5): writing 5 to clear_refs), so a peak read
    /// afterwards belongs to what the test did next, not to start-up.
    public static func resetPeak(pid: Int32) throws(ReadError) {
        do {
            try "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .ascii)
        } catch {
            throw .unreadable(pid: pid, reason: "writing clear_refs: \(error)")
        }
    }

    public var description: String {
        "RSS \(Self.mebibytes(residentBytes)), peak \(Self.mebibytes(peakResidentBytes))"
    }

    public static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}
