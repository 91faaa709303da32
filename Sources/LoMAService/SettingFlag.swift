/// How a setting is given on the `lomad serve` command line (besides `--set KEY=VALUE`, which
/// takes every key). Declared with the key in `ServiceSettings.keys`, so the flag, its help and
/// its parsing come from the same line as the TOML key and the `LOMAD_*` variable.
public struct SettingFlag: Sendable, Equatable {
    /// The long name, without the leading dashes.
    public let name: String
    /// What a switch sets the key to; nil for an option, which takes a value.
    public let fixedValue: String?

    /// `--NAME VALUE` or `--NAME=VALUE`; a list key takes one item per use.
    public static func option(_ name: String) -> SettingFlag {
        SettingFlag(name: name, fixedValue: nil)
    }

    /// `--NAME` alone, setting the key to `value`.
    public static func `switch`(_ name: String, sets value: String) -> SettingFlag {
        SettingFlag(name: name, fixedValue: value)
    }

    /// The flag as typed: `--queue-depth`.
    public var spelling: String { "--" + name }

    /// The option every key gets unless its declaration names another: the dotted name with
    /// `.` and `_` as `-` (`limits.max_reply_bytes` is `--limits-max-reply-bytes`).
    static func derived(from key: String) -> SettingFlag {
        .option(String(key.map { $0 == "." || $0 == "_" ? "-" : $0 }))
    }
}
