import CHiredis
import Foundation

/// One blocking connection to one Redis server (hiredis's `redisContext`), with a timeout on the
/// connect and on every read and write, so a server that is down or stalled costs a caller at
/// most the timeout, never a hang.
///
/// Not thread-safe: one caller at a time, which `RedisConnectionPool` guarantees by handing a
/// connection to one caller until it is returned. Once a call fails with `unavailable` the
/// connection is broken (`isBroken`) and must be dropped, not reused: the reply stream may be
/// out of step.
public final class RedisConnection: @unchecked Sendable {
    public let node: RedisNode
    private let context: UnsafeMutablePointer<redisContext>
    public private(set) var isBroken = false

    /// Connects, authenticates (`AUTH`) and selects the database.
    public init(node: RedisNode, user: String? = nil, password: String? = nil, database: Int = 0,
                timeout: Duration) throws(RedisError) {
        self.node = node
        let time = Self.timeval(timeout)
        guard let context = redisConnectWithTimeout(node.host, Int32(clamping: node.port), time) else {
            throw RedisError(.unavailable, "cannot allocate a connection to Redis at \(node)")
        }
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            redisFree(context)
            throw RedisError(.unavailable, "cannot connect to Redis at \(node): \(reason)")
        }
        self.context = context
        guard redisSetTimeout(context, time) == REDIS_OK else {
            throw RedisError(.unavailable, "cannot set the timeout on the connection to \(node)")
        }
        if let password {
            let arguments = user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
            if case .error(let message) = try command(arguments.map { Array($0.utf8) }) {
                throw RedisError(.configuration, "Redis at \(node) refused the credentials: \(message)")
            }
        }
        if database != 0, case .error(let message) = try command(["SELECT", "\(database)"].map { Array($0.utf8) }) {
            throw RedisError(.configuration, "Redis at \(node) refused database \(database): \(message)")
        }
    }

    deinit { redisFree(context) }

    /// Sends one command and reads its reply. An error reply is returned as `.error`, not
    /// thrown: MOVED, ASK and script errors are answers the caller decides about.
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// Sends several commands in one write and reads their replies in order: one round trip.
    public func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [RedisReply] {
        guard !isBroken else { throw RedisError(.unavailable, "the connection to \(node) is broken") }
        for arguments in commands {
            let appended = Self.withArgv(arguments) { argv, lengths in
                redisAppendCommandArgv(context, Int32(arguments.count), argv, lengths)
            }
            guard appended == REDIS_OK else { throw fail("cannot send a command") }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw fail("no reply") }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.copy(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private func fail(_ what: String) -> RedisError {
        isBroken = true
        return RedisError(.unavailable, "\(what) on the connection to Redis at \(node): \(Self.errorText(context))")
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch context.pointee.err {
        case REDIS_ERR_IO where text.isEmpty || text.contains("Resource temporarily unavailable"):
            return "timed out or I/O error (\(text.isEmpty ? "errno \(errno)" : text))"
        case REDIS_ERR_EOF: return "the server closed the connection"
        default: return text.isEmpty ? "error \(context.pointee.err)" : text
        }
    }

    private static func copy(_ reply: UnsafePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(value.str.map { Array(UnsafeRawBufferPointer(start: $0, count: value.len)) } ?? [])
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                if let element = value.element[index] { elements.append(copy(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        case REDIS_REPLY_INTEGER: return .integer(value.integer)
        case REDIS_REPLY_STATUS: return .status(text(value))
        case REDIS_REPLY_ERROR: return .error(text(value))
        default: return .null
        }
    }

    private static func text(_ value: redisReply) -> String {
        value.str.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: value.len), as: UTF8.self) } ?? ""
    }

    /// Calls `body` with hiredis's argv form of `arguments` (a pointer and a length each); the
    /// pointers are valid only during the call, and hiredis copies the bytes before returning.
    private static func withArgv(_ arguments: [[UInt8]],
                                 _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Int32) -> Int32 {
        let lengths = arguments.map(\.count)
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(arguments.count)
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        for argument in arguments {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(argument.count, 1), alignment: 1)
            buffer.copyBytes(from: argument)
            buffers.append(buffer)
            pointers.append(UnsafePointer(buffer.baseAddress?.assumingMemoryBound(to: CChar.self)))
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengthPointer in
                guard let argvBase = argv.baseAddress, let lengthBase = lengthPointer.baseAddress else { return REDIS_ERR }
                return body(argvBase, lengthBase)
            }
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = duration.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
