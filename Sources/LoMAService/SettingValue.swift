import TOML

/// A setting's value as the file, a flag or the environment gave it, before it is checked.
public enum SettingValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case string(String)
    case strings([String])

    /// TOML spelling, used by `--print-config` and in error messages.
    public var description: String {
        switch self {
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): TOMLValue.quoted(value)
        case .strings(let values): "[" + values.map(TOMLValue.quoted).joined(separator: ", ") + "]"
        }
    }
}

/// Where a setting came from, so an error says what to fix.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case flag(String)
    case environment(String)

    public var description: String {
        switch self {
        case .file(let path): "configuration file \(path)"
        case .flag(let flag): "command-line flag \(flag)"
        case .environment(let variable): "environment variable \(variable)"
        }
    }
}

/// A setting that cannot be used, naming its source, key and value.
public struct SettingsError: Error, Equatable, CustomStringConvertible {
    public let source: SettingSource
    public let key: String
    public let value: String
    public let problem: String

    public init(source: SettingSource, key: String, value: String, problem: String) {
        self.source = source
        self.key = key
        self.value = value
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "\(source): \(problem)" : "\(source): \(key) = \(value): \(problem)"
    }
}
