import Foundation

/// One setting, declared once in `ServiceSettings.keys`: its dotted name (the TOML key; `LOMAD_` +
/// the name in capitals with `_` for `.` is its environment variable), its `lomad serve` flag,
/// what it means (the comment `--print-config` writes and the flag's help), whether SIGHUP changes
/// it in a running daemon, and how its value is checked and stored. Built only through the typed
/// factories below, so every key parses, checks and prints the same way, and adding a setting is
/// one line there plus the `ServiceSettings` property it sets.
public struct SettingKey: Sendable {
    public let name: String
    public let summary: String
    /// The command-line flag (`SettingFlag.derived(from:)` unless the declaration names one).
    public let flag: SettingFlag
    /// Takes effect on SIGHUP without a restart.
    public let reloadable: Bool
    let kind: Kind
    let assign: @Sendable (inout ServiceSettings, SettingValue) throws(SettingProblem) -> Void
    let read: @Sendable (ServiceSettings) -> SettingValue

    enum Kind: String {
        case integer, number, string, strings = "list of strings"
    }

    /// The environment variable that overrides this key.
    public var environmentVariable: String {
        "LOMAD_" + name.uppercased().map { $0 == "." ? "_" : $0 }.map(String.init).joined()
    }

    /// Reads a flag's or environment variable's text as this key's kind; a list is
    /// comma-separated.
    func value(parsing text: String) throws(SettingProblem) -> SettingValue {
        switch kind {
        case .integer:
            guard let value = Int(text.replacingOccurrences(of: "_", with: "")) else { throw SettingProblem("expected an integer") }
            return .integer(value)
        case .number:
            guard let value = Double(text), value.isFinite else { throw SettingProblem("expected a number") }
            return .number(value)
        case .string:
            return .string(text)
        case .strings:
            return .strings(text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
    }
}

/// Why a value does not fit its key; `SettingsError` adds where it came from.
public struct SettingProblem: Error, CustomStringConvertible {
    public var description: String { message }
    public let message: String
    public init(_ message: String) { self.message = message }
}

extension SettingKey {
    static func integer(_ name: String, _ keyPath: any WritableKeyPath<ServiceSettings, Int> & Sendable, flag: SettingFlag? = nil,
                        minimum: Int, maximum: Int = Int.max, reloadable: Bool = false, _ summary: String) -> SettingKey {
        SettingKey(name: name, summary: summary, flag: flag ?? .derived(from: name), reloadable: reloadable, kind: .integer,
                   assign: { settings, value throws(SettingProblem) in
                       guard case .integer(let number) = value else { throw SettingProblem("expected an integer") }
                       guard number >= minimum else { throw SettingProblem("must be at least \(minimum)") }
                       guard number <= maximum else { throw SettingProblem("must be at most \(maximum)") }
                       settings[keyPath: keyPath] = number
                   },
                   read: { .integer($0[keyPath: keyPath]) })
    }

    /// `maximum` keeps values that become durations within what `Duration` and libzmq's
    /// millisecond options can hold, so a huge number is refused rather than trapping later.
    static func number(_ name: String, _ keyPath: any WritableKeyPath<ServiceSettings, Double> & Sendable, flag: SettingFlag? = nil,
                       minimum: Double, maximum: Double = .greatestFiniteMagnitude, reloadable: Bool = false,
                       _ summary: String) -> SettingKey {
        SettingKey(name: name, summary: summary, flag: flag ?? .derived(from: name), reloadable: reloadable, kind: .number,
                   assign: { settings, value throws(SettingProblem) in
                       let number: Double
                       switch value {
                       case .number(let given): number = given
                       case .integer(let given): number = Double(given)
                       default: throw SettingProblem("expected a number")
                       }
                       guard number.isFinite, number >= minimum else { throw SettingProblem("must be a number of at least \(minimum)") }
                       guard number <= maximum else { throw SettingProblem("must be at most \(maximum)") }
                       settings[keyPath: keyPath] = number
                   },
                   read: { .number($0[keyPath: keyPath]) })
    }

    /// A string checked (and possibly converted) by `check`, which throws the reason it is refused.
    static func string<Value: Sendable>(_ name: String, _ keyPath: any WritableKeyPath<ServiceSettings, Value> & Sendable,
                                        flag: SettingFlag? = nil, reloadable: Bool = false, _ summary: String,
                                        parse: @escaping @Sendable (String) throws(SettingProblem) -> Value,
                                        format: @escaping @Sendable (Value) -> String) -> SettingKey {
        SettingKey(name: name, summary: summary, flag: flag ?? .derived(from: name), reloadable: reloadable, kind: .string,
                   assign: { settings, value throws(SettingProblem) in
                       guard case .string(let text) = value else { throw SettingProblem("expected a string") }
                       settings[keyPath: keyPath] = try parse(text)
                   },
                   read: { .string(format($0[keyPath: keyPath])) })
    }

    static func choice<Value: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ keyPath: any WritableKeyPath<ServiceSettings, Value> & Sendable, flag: SettingFlag? = nil,
        reloadable: Bool = false, _ summary: String
    ) -> SettingKey where Value.RawValue == String {
        string(name, keyPath, flag: flag, reloadable: reloadable, summary, parse: { text throws(SettingProblem) in
            guard let value = Value(rawValue: text) else {
                throw SettingProblem("expected one of " + Value.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            return value
        }, format: \.rawValue)
    }

    static func strings(_ name: String, _ keyPath: any WritableKeyPath<ServiceSettings, [String]> & Sendable, flag: SettingFlag? = nil,
                        _ summary: String,
                        check: @escaping @Sendable (String) throws(SettingProblem) -> Void) -> SettingKey {
        SettingKey(name: name, summary: summary, flag: flag ?? .derived(from: name), reloadable: false, kind: .strings,
                   assign: { settings, value throws(SettingProblem) in
                       let items: [String]
                       switch value {
                       case .strings(let given): items = given
                       case .string(let given): items = [given]
                       default: throw SettingProblem("expected a list of strings")
                       }
                       for item in items { try check(item) }
                       settings[keyPath: keyPath] = items
                   },
                   read: { .strings($0[keyPath: keyPath]) })
    }
}

extension SettingKey {
    /// This key's value in `settings`, as TOML writes it.
    public func value(in settings: ServiceSettings) -> SettingValue { read(settings) }

    /// Sets this key in `target` to its value in `source` (both already checked).
    public func copy(from source: ServiceSettings, into target: inout ServiceSettings) {
        do {
            try assign(&target, read(source))
        } catch {
            preconditionFailure("\(name): a checked value was refused: \(error.message)")
        }
    }
}
