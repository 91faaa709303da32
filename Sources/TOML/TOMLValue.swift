/// One TOML value. Date-times are kept as their text (validated, not converted): lomad's files
/// take none, so a reader only needs to name them in an error.
public enum TOMLValue: Sendable, Equatable, CustomDebugStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case dateTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var int: Int? { if case .integer(let value) = self { value } else { nil } }
    public var double: Double? { if case .float(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .boolean(let value) = self { value } else { nil } }
    public var array: [TOMLValue]? { if case .array(let value) = self { value } else { nil } }
    public var table: TOMLTable? { if case .table(let value) = self { value } else { nil } }

    /// The kind, as an error message names it ("a float is not a value any setting takes").
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .dateTime: "date-time"
        case .array: "array"
        case .table: "table"
        }
    }

    /// TOML spelling (inline form for tables), for messages that quote the value.
    public var debugDescription: String {
        switch self {
        case .string(let value): Self.quoted(value)
        case .integer(let value): "\(value)"
        case .float(let value): value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : "\(value)"
        case .boolean(let value): "\(value)"
        case .dateTime(let value): value
        case .array(let values): "[" + values.map(\.debugDescription).joined(separator: ", ") + "]"
        case .table(let table):
            "{" + table.keys.compactMap { key in table[key].map { "\(Self.quoted(key)) = \($0.debugDescription)" } }
                .joined(separator: ", ") + "}"
        }
    }

    /// A TOML basic string: quotes, backslashes and control characters escaped.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
