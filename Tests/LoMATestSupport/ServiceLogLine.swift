/// One line of lomad's logfmt log (`level=info logger=lomad msg=serving endpoints="a b"`), split
/// into its fields, so tests read what the daemon logged without matching on spacing.
public struct ServiceLogLine: Sendable, Equatable {
    public let fields: [String: String]
    /// The syslog priority prefix (`<6>`) when the line was written for journald.
    public let priority: Int?

    public init(_ line: some StringProtocol) {
        var text = Substring(line)
        var priority: Int?
        if text.first == "<", let close = text.firstIndex(of: ">"), let value = Int(text[text.index(after: text.startIndex)..<close]) {
            priority = value
            text = text[text.index(after: close)...]
        }
        self.priority = priority
        var fields: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
            guard let equals = text[index...].firstIndex(of: "=") else { break }
            let key = String(text[index..<equals])
            index = text.index(after: equals)
            var value = ""
            if index < text.endIndex, text[index] == "\"" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "\"" {
                    if text[index] == "\\", text.index(after: index) < text.endIndex {
                        index = text.index(after: index)
                        switch text[index] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(text[index])
                        }
                    } else {
                        value.append(text[index])
                    }
                    index = text.index(after: index)
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                let end = text[index...].firstIndex(of: " ") ?? text.endIndex
                value = String(text[index..<end])
                index = end
            }
            fields[key] = value
        }
        self.fields = fields
    }

    public subscript(key: String) -> String? { fields[key] }

    /// Every line of a log, parsed.
    public static func lines(of log: String) -> [ServiceLogLine] {
        log.split(separator: "\n").map { ServiceLogLine($0) }
    }
}
