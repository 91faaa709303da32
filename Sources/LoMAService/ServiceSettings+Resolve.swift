import Foundation
import TOML

/// A setting given on the command line: the flag as typed (for messages), the key it sets and
/// its text. Several for one list key (`--endpoint a --endpoint b`) make one list.
public struct SettingAssignment: Sendable, Equatable {
    public var flag: String
    public var key: String
    public var text: String

    public init(flag: String, key: String, text: String) {
        self.flag = flag
        self.key = key
        self.text = text
    }
}

extension ServiceSettings {
    /// The settings in force: defaults, then the file, then the flags, then `LOMAD_*` variables.
    /// - Parameters:
    ///   - file: the TOML file, nil for none; a file that cannot be read is an error.
    ///   - flags: settings given on the command line.
    ///   - environment: the process environment; variables that name no key are ignored (lomad
    ///     has other `LOMAD_` variables, such as `LOMAD_MODEL_DIR`).
    /// - Throws: `SettingsError` naming the source, the key and the value.
    public static func resolve(file: URL?, flags: [SettingAssignment] = [],
                               environment: [String: String] = [:]) throws -> ServiceSettings {
        var settings = ServiceSettings()
        if let file {
            let source = SettingSource.file(file.path)
            for (name, value) in try tomlValues(in: file) {
                try settings.assign(value, to: name, from: source)
            }
        }
        var listFlags: [String: [String]] = [:]
        for assignment in flags {
            guard let key = key(named: assignment.key) else {
                throw SettingsError(source: .flag(assignment.flag), key: assignment.key, value: assignment.text,
                                    problem: "no such setting; known: \(keys.map(\.name).joined(separator: ", "))")
            }
            if key.kind == .strings {
                listFlags[key.name, default: []].append(assignment.text)
                continue
            }
            try settings.assign(text: assignment.text, to: key, from: .flag(assignment.flag))
        }
        for (name, items) in listFlags.sorted(by: { $0.key < $1.key }) {
            let flag = flags.first { $0.key == name }?.flag ?? name
            try settings.assign(.strings(items), to: name, from: .flag(flag))
        }
        for key in keys {
            guard let text = environment[key.environmentVariable] else { continue }
            try settings.assign(text: text, to: key, from: .environment(key.environmentVariable))
        }
        try settings.checkConsistency()
        return settings
    }

    private mutating func assign(text: String, to key: SettingKey, from source: SettingSource) throws {
        do {
            try key.assign(&self, try key.value(parsing: text))
        } catch {
            throw SettingsError(source: source, key: key.name, value: text, problem: error.message)
        }
    }

    private mutating func assign(_ value: SettingValue, to name: String, from source: SettingSource) throws {
        guard let key = Self.key(named: name) else {
            throw SettingsError(source: source, key: name, value: "\(value)",
                                problem: "no such setting; known: \(Self.keys.map(\.name).joined(separator: ", "))")
        }
        do {
            try key.assign(&self, value)
        } catch {
            throw SettingsError(source: source, key: name, value: "\(value)", problem: error.message)
        }
    }

    /// Checks between keys, after every source has been applied.
    private func checkConsistency() throws {
        if storeMode == .memory, !storeDirectory.isEmpty {
            throw SettingsError(source: .file("(effective settings)"), key: "store.directory", value: TOMLValue.quoted(storeDirectory),
                                problem: "only used when store.mode = \"durable\"")
        }
    }

    /// The file's settings as dotted keys and values, in the file's order of tables.
    static func tomlValues(in file: URL) throws -> [(String, SettingValue)] {
        let source = SettingSource.file(file.path)
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw SettingsError(source: source, key: "", value: "", problem: "cannot be read: \(error.localizedDescription)")
        }
        let table: TOMLTable
        do {
            table = try TOMLDocument.parse(text)
        } catch {
            throw SettingsError(source: source, key: "", value: "", problem: error.description)
        }
        var values: [(String, SettingValue)] = []
        try flatten(table, prefix: "", into: &values, source: source)
        return values
    }

    private static func flatten(_ table: TOMLTable, prefix: String, into values: inout [(String, SettingValue)],
                                source: SettingSource) throws {
        for key in table.keys {
            let name = prefix.isEmpty ? key : "\(prefix).\(key)"
            guard let node = table[key] else { continue }
            if let nested = node.table {
                try flatten(nested, prefix: name, into: &values, source: source)
                continue
            }
            values.append((name, try settingValue(node, name: name, source: source)))
        }
    }

    private static func settingValue(_ node: TOMLValue, name: String, source: SettingSource) throws -> SettingValue {
        if let integer = node.int { return .integer(integer) }
        if let number = node.double { return .number(number) }
        if let string = node.string { return .string(string) }
        if let array = node.array {
            var items: [String] = []
            for element in array {
                guard let item = element.string else {
                    throw SettingsError(source: source, key: name, value: "\(node.debugDescription)", problem: "expected a list of strings")
                }
                items.append(item)
            }
            return .strings(items)
        }
        throw SettingsError(source: source, key: name, value: "\(node.debugDescription)",
                            problem: "a \(node.typeName) is not a value any setting takes")
    }
}
