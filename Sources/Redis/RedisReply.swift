/// One reply of the Redis protocol (RESP2), copied out of hiredis's reply object so it outlives
/// the connection that read it.
public enum RedisReply: Equatable, Sendable {
    case bulk([UInt8])
    case array([RedisReply])
    case integer(Int64)
    case null
    case status(String)
    case error(String)

    /// The bytes of a bulk string, nil for anything else (a missing key replies `.null`).
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var elements: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// A bulk or status reply as text.
    public var text: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        default: nil
        }
    }
}
