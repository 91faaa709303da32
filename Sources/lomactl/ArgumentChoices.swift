import ArgumentParser
import LoMAProtocol

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

enum DTypeChoice: String, CaseIterable, ExpressibleByArgument {
    case f32, f16, bf16

    var wire: Loma_V1_DType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        }
    }
}

enum LayoutChoice: String, CaseIterable, ExpressibleByArgument {
    /// `[layers, kv_heads, tokens, head_dim]`.
    case headsMajor = "heads_major"
    /// `[layers, tokens, kv_heads, head_dim]`, as many inference servers keep their cache.
    case tokensMajor = "tokens_major"

    var wire: Loma_V1_KVLayout {
        switch self {
        case .headsMajor: .headsMajor
        case .tokensMajor: .tokensMajor
        }
    }
}
