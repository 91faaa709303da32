/// Version of the loma.v1 wire protocol this module speaks. Bumped only for changes that old
/// peers cannot ignore; adding fields or operations is compatible and keeps it.
public enum ProtocolVersion {
    public static let current: UInt32 = 1
}
