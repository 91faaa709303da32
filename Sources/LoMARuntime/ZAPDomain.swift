/// The ZAP domains the broker sets on its endpoints, one per transport. Setting a domain makes
/// libzmq consult the authentication handler for every connection, plain (NULL mechanism) ones
/// included, and the domain tells the handler which transport the connection came in on: the
/// peer address alone cannot (an IPv6 address and an ipc `:uid:gid:pid` address look alike).
enum ZAPDomain: String, CaseIterable, Sendable {
    case ipc = "lomad-ipc"
    case tcp = "lomad-tcp"
}
