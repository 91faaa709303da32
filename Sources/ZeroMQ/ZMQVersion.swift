import CZeroMQ

/// The libzmq the process is linked against (the daemon reports it in its info reply).
public enum ZMQVersion {
    public static var current: (major: Int, minor: Int, patch: Int) {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return (Int(major), Int(minor), Int(patch))
    }

    /// Whether libzmq was built with `capability` (e.g. "curve", "ipc", "draft").
    public static func has(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }
}
