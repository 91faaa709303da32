import FuzzSupport

// libFuzzer's entry points. Whichever `main` the link keeps (libFuzzer's or this target's),
// libFuzzer calls these two.

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    FuzzEnvironment.writeSeedsIfAsked(SafetensorsTarget.seeds)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    SafetensorsTarget.run(FuzzDriver.bytes(data, size))
    return 0
}

@main
enum SafetensorsFuzzer {
    static func main() {
        FuzzDriver.run(fuzzerTestOneInput)
    }
}
