/// Where and how to reach Redis: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`.
///
/// `rediss://` (TLS) is refused: Debian's libhiredis is built without hiredis_ssl, so this build
/// cannot speak TLS; put the daemon and Redis on a trusted network or tunnel (stunnel, WireGuard).
public struct RedisURL: Equatable, Sendable, CustomStringConvertible {
    public var node: RedisNode
    /// The ACL user; nil with a password authenticates as `default` (`AUTH PASSWORD`).
    public var user: String?
    public var password: String?
    /// The logical database (`SELECT`); Redis Cluster has only database 0.
    public var database: Int

    public init(node: RedisNode, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.node = node
        self.user = user
        self.password = password
        self.database = database
    }

    public init(parsing text: String) throws(RedisError) {
        if text.hasPrefix("rediss://") {
            throw RedisError(.configuration, "'\(Self.redacted(text))' asks for TLS, which this build does not support: Debian's libhiredis is built without TLS (hiredis_ssl); use redis:// on a trusted network or a TLS tunnel")
        }
        guard text.hasPrefix("redis://") else {
            throw RedisError(.configuration, "'\(Self.redacted(text))' is not a redis:// URL")
        }
        var rest = Substring(text.dropFirst("redis://".count))
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let name = String(credentials[..<colon])
                user = name.isEmpty ? nil : Self.percentDecoded(name)
                password = Self.percentDecoded(String(credentials[credentials.index(after: colon)...]))
            } else {
                password = Self.percentDecoded(String(credentials))
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw RedisError(.configuration, "'\(Self.redacted(text))' names database '\(path)'; it must be a number")
                }
                database = number
            }
        }
        let hostPort = rest.contains(":") && !(rest.hasPrefix("[") && rest.hasSuffix("]")) ? String(rest) : "\(rest):6379"
        self.init(node: try RedisNode(parsing: hostPort), user: user, password: password, database: database)
    }

    /// The URL without its password, for logs and `--print-config`.
    public var description: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        return "redis://\(credentials)\(node)/\(database)"
    }

    private static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://") else { return text }
        return String(text[..<scheme.upperBound]) + "***" + String(text[at...])
    }

    private static func percentDecoded(_ text: String) -> String {
        text.removingPercentEncodingIfPossible
    }
}

extension String {
    /// `%XX` escapes decoded (passwords may contain `@` or `:`); text without valid escapes as is.
    fileprivate var removingPercentEncodingIfPossible: String {
        var bytes: [UInt8] = []
        var iterator = Array(utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
               let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
