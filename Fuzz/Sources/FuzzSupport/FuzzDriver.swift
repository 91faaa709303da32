import CLibFuzzer
import Foundation

/// Starts libFuzzer from a target's own `main`. SwiftPM gives every executable its own entry
/// point, which may take the place of libFuzzer's `main`; `LLVMFuzzerRunDriver` is libFuzzer's
/// documented way in for programs with their own `main`. It calls the target's
/// `LLVMFuzzerInitialize` and then `testOneInput` exactly as libFuzzer's `main` would, so the
/// targets behave the same whichever `main` the link keeps. Arguments are libFuzzer's.
public enum FuzzDriver {
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    public static func run(_ testOneInput: TestOneInput) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
    }

    /// The input as an array (libFuzzer may pass a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }
}
