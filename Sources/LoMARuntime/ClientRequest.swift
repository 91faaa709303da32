import LoMAProtocol

/// A decoded request and the tenant it acts for, which the broker resolved from its connection
/// (authenticated key, peer uid, or the default tenant); the request itself never names one.
public struct ClientRequest {
    public let message: DecodedMessage<Loma_V1_Request>
    public let tenant: String
    /// The segment limit and the cancellation its pass runs under.
    public let budget: ComputeBudget

    public init(message: DecodedMessage<Loma_V1_Request>, tenant: String, budget: ComputeBudget = .unlimited) {
        self.message = message
        self.tenant = tenant
        self.budget = budget
    }

    public var envelope: Loma_V1_Request { message.envelope }
}
