import FuzzSupport

// libFuzzer's entry points. Whichever `main` the link keeps (libFuzzer's or this target's),
// libFuzzer calls these two.

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>?,
                             _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    FuzzEnvironment.writeSeedsIfAsked(ConfigTarget.seeds)
    _ = ConfigTarget.modelDirectory
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ConfigTarget.run(FuzzDriver.bytes(data, size))
    return 0
}

@main
enum ConfigFuzzer {
    static func main() {
        FuzzDriver.run(fuzzerTestOneInput)
    }
}
