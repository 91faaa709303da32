/// The operations of loma.v1 as a small closed set, so that stats, limits and routing can key on
/// them without holding on to a decoded request.
public enum Operation: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case health
    case stats
    case compress
    case readMemory
    case forkSequence
    case deleteSequence
    case listSequences
    case publishPrefix
    case lookupPrefix
    /// A request whose operation this daemon does not know (a newer client, or garbage).
    case unknown

    public init(_ operation: Loma_V1_Request.OneOf_Operation?) {
        switch operation {
        case .health: self = .health
        case .stats: self = .stats
        case .compress: self = .compress
        case .readMemory: self = .readMemory
        case .forkSequence: self = .forkSequence
        case .deleteSequence: self = .deleteSequence
        case .listSequences: self = .listSequences
        case .publishPrefix: self = .publishPrefix
        case .lookupPrefix: self = .lookupPrefix
        case nil: self = .unknown
        }
    }

    /// The snake_case name used in stats and logs.
    public var description: String {
        switch self {
        case .health: "health"
        case .stats: "stats"
        case .compress: "compress"
        case .readMemory: "read_memory"
        case .forkSequence: "fork_sequence"
        case .deleteSequence: "delete_sequence"
        case .listSequences: "list_sequences"
        case .publishPrefix: "publish_prefix"
        case .lookupPrefix: "lookup_prefix"
        case .unknown: "unknown"
        }
    }
}
