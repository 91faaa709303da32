import Foundation
import Logging
import Synchronization

/// The daemon's log format: one event per line, `key=value` pairs (logfmt) that grep, awk and
/// log shippers split without a parser of their own:
///
///     ts=2025-01-31T12:00:00.123Z level=info logger=lomad msg="model loaded" model=loma-tiny
///
/// Under journald (`$JOURNAL_STREAM` set) the line starts with a syslog priority `<6>` instead
/// of `ts=`: journald stamps each line itself and files it under that priority, so
/// `journalctl -p warning` works.
public struct ServiceLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let level: LogLevelControl

    public enum Format: Sendable {
        /// A terminal or a file: each line carries its time.
        case timestamped
        /// journald: each line carries its priority; the journal keeps the time.
        case journal

        /// `.journal` when stderr is connected to the journal.
        public static func detect(environment: [String: String]) -> Format {
            environment["JOURNAL_STREAM"].map { $0.isEmpty ? .timestamped : .journal } ?? .timestamped
        }
    }

    /// - Parameter level: shared by every logger of the process, so a reload changes them all.
    public init(label: String, format: Format, level: LogLevelControl) {
        self.label = label
        self.format = format
        self.level = level
    }

    public var logLevel: Logger.Level {
        get { level.current }
        set { level.current = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var line: String
        switch format {
        case .timestamped:
            line = "ts=\(Self.timestamp()) "
        case .journal:
            line = "<\(event.level.syslogPriority)>"
        }
        line += "level=\(event.level) logger=\(Logfmt.value(label)) msg=\(Logfmt.value("\(event.message)"))"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(Logfmt.key(key))=\(Logfmt.value("\(value)"))"
        }
        line += "\n"
        // One write per event, so lines from several threads never interleave.
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func timestamp() -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
    }
}

/// The process-wide log level, changed on reload. Loggers read it on every event.
public final class LogLevelControl: Sendable {
    private let level: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    public var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// logfmt quoting: bare when the text has no space, quote, `=` or control character.
enum Logfmt {
    static func value(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.isNewline }
        guard needsQuotes else { return text }
        var quoted = "\""
        for character in text {
            switch character {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            default: quoted.append(character)
            }
        }
        return quoted + "\""
    }

    /// Keys are written bare; anything but letters, digits, `_`, `.` and `-` becomes `_`.
    static func key(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" ? $0 : "_" })
    }
}

extension Logger.Level {
    /// The syslog priority journald files the line under (sd-daemon(3) prefixes).
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
