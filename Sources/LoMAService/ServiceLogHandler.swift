import Foundation
import Logging

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
