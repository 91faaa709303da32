/// The lomad release, reported by health/info and `lomad --version`.
public enum DaemonVersion {
    public static let current = "0.1.0"
}
