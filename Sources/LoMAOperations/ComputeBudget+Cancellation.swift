import LoMAModel
import LoMARuntime

extension ComputeBudget {
    /// The budget's stop check in the engine's form: the runtime decides when a pass stops, the
    /// engine asks between layers.
    var cancellation: PassCancellation { PassCancellation(stopReason) }
}
