/// What is wrong with a clients file, naming the file, tenant and field.
public struct ClientAllowListError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
