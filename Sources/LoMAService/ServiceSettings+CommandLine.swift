extension ServiceSettings {
    /// The settings a `lomad serve` command line gives, in order: `--set KEY=VALUE` texts first,
    /// then the flags each key declares (`SettingKey.flag`), `--NAME VALUE`, `--NAME=VALUE` or a
    /// switch alone. Later ones override earlier ones; a list key's uses make one list.
    /// - Parameters:
    ///   - sets: the values of `--set`.
    ///   - flags: every other argument, as given (the command leaves them to this parser).
    /// - Throws: `SettingsError` naming the flag for an unknown flag, a missing value or `--set`
    ///   without `=`.
    public static func assignments(sets: [String] = [], flags arguments: [String]) throws(SettingsError) -> [SettingAssignment] {
        var result: [SettingAssignment] = []
        for text in sets {
            guard let equals = text.firstIndex(of: "=") else {
                throw SettingsError(source: .flag("--set"), key: text, value: "", problem: "expected KEY=VALUE")
            }
            result.append(SettingAssignment(flag: "--set \(text)", key: String(text[..<equals]),
                                            text: String(text[text.index(after: equals)...])))
        }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw SettingsError(source: .flag(argument), key: "", value: "",
                                    problem: "unexpected argument; settings are flags (see lomad serve --help)")
            }
            let body = argument.dropFirst(2)
            let name = body.firstIndex(of: "=").map { String(body[..<$0]) } ?? String(body)
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            guard let key = keys.first(where: { $0.flag.name == name }) else {
                throw SettingsError(source: .flag("--\(name)"), key: "", value: "", problem: "no such option (see lomad serve --help)")
            }
            let flag = key.flag.spelling
            if let fixed = key.flag.fixedValue {
                guard inline == nil else {
                    throw SettingsError(source: .flag(flag), key: key.name, value: inline ?? "", problem: "\(flag) takes no value")
                }
                result.append(SettingAssignment(flag: flag, key: key.name, text: fixed))
            } else if let text = inline {
                result.append(SettingAssignment(flag: flag, key: key.name, text: text))
            } else {
                guard index < arguments.count else {
                    throw SettingsError(source: .flag(flag), key: key.name, value: "", problem: "\(flag) needs a value")
                }
                result.append(SettingAssignment(flag: flag, key: key.name, text: arguments[index]))
                index += 1
            }
        }
        return result
    }

    /// One paragraph per key for `lomad serve --help`: the flag, the key it sets, and its summary.
    public static var flagHelp: String {
        keys.map { key in
            let usage = key.flag.fixedValue.map { "\(key.flag.spelling) (\(key.name) = \"\($0)\")" }
                ?? "\(key.flag.spelling) <\(key.kind == .strings ? "item" : key.kind.rawValue)>\(key.kind == .strings ? " (repeatable)" : "") (\(key.name))"
            return "\(usage)\(key.reloadable ? " [reload]" : ""): \(key.summary)"
        }.joined(separator: "\n")
    }
}
