/// Checks tenant, sequence and model names. They become parts of LMDB keys (at most 511 bytes,
/// joined with NUL), so they must be non-empty, NUL-free and bounded.
public enum StoreName {
    public static let maximumBytes = 200

    public static func validate(_ value: String, field: String) throws(StoreError) {
        let length = value.utf8.count
        guard length > 0 else { throw .invalidArgument("\(field) name is empty") }
        guard length <= maximumBytes else {
            throw .invalidArgument("\(field) name is \(length) bytes; at most \(maximumBytes) are allowed")
        }
        guard !value.utf8.contains(0) else { throw .invalidArgument("\(field) name contains a NUL character") }
    }
}
