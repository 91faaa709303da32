import ArgumentParser
import LoMAProtocol
import LoMATensorIO

// Choice-valued options as enums, so ArgumentParser checks them while parsing: a typo is
// answered with the valid choices and the subcommand's own usage, and `--help` lists them.

enum MethodChoice: String, CaseIterable, ExpressibleByArgument {
    case loma
    case meanPool = "mean_pool"
    case strided

    var wire: Loma_V1_CompressionMethod {
        switch self {
        case .loma: .loma
        case .meanPool: .meanPool
        case .strided: .strided
        }
    }
}

// Output dtype and input layout are LoMATensorIO's own enums (their raw values are the choices);
// LoMAProtocol maps them to the wire, the one mapping the daemon uses too.
extension DType: ExpressibleByArgument {}

extension KVLayout: ExpressibleByArgument {}
