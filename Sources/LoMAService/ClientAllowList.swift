import Foundation
import LoMARuntime
import LoMAStore
import TOML
import ZeroMQ

/// Who may use the daemon and as which tenant: the clients file (`auth.clients_file`).
///
/// ```toml
/// [tenants.alice]
/// curve_keys = ["rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"]  # public keys from `lomactl keygen`
/// uids = [1001]                                             # local ipc clients running as these users
/// quota_bytes = 1073741824                                   # else store.tenant_quota_bytes
/// ```
///
/// A CURVE endpoint admits exactly the keys listed here; an ipc client whose uid is listed acts as
/// that tenant, any other ipc client as the default tenant. A key or uid may belong to one tenant
/// only, so who a client is never depends on the order of the file.
public struct ClientAllowList: TenantRoster, Equatable {
    public struct Tenant: Sendable, Equatable {
        public var name: String
        public var curveKeys: [String] = []
        public var uids: [UInt32] = []
        public var quotaBytes: Int?
    }

    public private(set) var tenants: [Tenant] = []
    private var tenantsByCurveKey: [String: String] = [:]
    private var tenantsByUID: [UInt32: String] = [:]
    private var quotas: [String: Int] = [:]

    /// Admits nobody over CURVE and maps no uid: every ipc client is the default tenant.
    public init() {}

    public init(tenants: [Tenant]) throws(ClientAllowListError) {
        for tenant in tenants {
            let name = tenant.name
            do {
                try StoreName.validate(name, field: "tenant")
            } catch {
                throw ClientAllowListError("tenant \"\(name)\": \(error.message)")
            }
            guard !self.tenants.contains(where: { $0.name == name }) else {
                throw ClientAllowListError("tenant \"\(name)\" is listed twice")
            }
            for key in tenant.curveKeys {
                guard ZMQCurve.isZ85Key(key) else {
                    throw ClientAllowListError("tenant \"\(name)\": \"\(key)\" is not a 40-character Z85 CURVE public key (lomactl keygen writes one)")
                }
                if let owner = tenantsByCurveKey.updateValue(name, forKey: key) {
                    throw ClientAllowListError("CURVE key \(key) is listed for both \"\(owner)\" and \"\(name)\"")
                }
            }
            for uid in tenant.uids {
                if let owner = tenantsByUID.updateValue(name, forKey: uid) {
                    throw ClientAllowListError("uid \(uid) is listed for both \"\(owner)\" and \"\(name)\"")
                }
            }
            if let quota = tenant.quotaBytes {
                guard quota >= 0 else { throw ClientAllowListError("tenant \"\(name)\": quota_bytes must not be negative") }
                quotas[name] = quota
            }
            self.tenants.append(tenant)
        }
    }

    public func tenant(forCurveKey key: String) -> String? { tenantsByCurveKey[key] }
    public func tenant(forUID uid: UInt32) -> String? { tenantsByUID[uid] }
    /// The quota the file gives `tenant`, if any (0: none).
    public func quotaBytes(of tenant: String) -> Int? { quotas[tenant] }
    public var namesTenants: Bool { !tenants.isEmpty }
}

extension ClientAllowList {
    /// Reads a clients file.
    public init(contentsOf file: URL) throws(ClientAllowListError) {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ClientAllowListError("clients file \(file.path) cannot be read: \(error.localizedDescription)")
        }
        do {
            try self.init(tomlText: text)
        } catch {
            throw ClientAllowListError("clients file \(file.path): \(error.description)")
        }
    }

    /// Parses the text of a clients file.
    public init(tomlText text: String) throws(ClientAllowListError) {
        let table: TOMLTable
        do {
            table = try TOMLDocument.parse(text)
        } catch {
            throw ClientAllowListError(error.description)
        }
        for key in table.keys where key != "tenants" {
            throw ClientAllowListError("unknown top-level key \"\(key)\"; expected [tenants.NAME] tables")
        }
        var tenants: [Tenant] = []
        if let node = table["tenants"] {
            guard let entries = node.table else { throw ClientAllowListError("\"tenants\" must be a table of [tenants.NAME] tables") }
            for name in entries.keys {
                guard let entry = entries[name]?.table else {
                    throw ClientAllowListError("tenants.\(name) must be a table")
                }
                tenants.append(try Self.tenant(named: name, from: entry))
            }
        }
        try self.init(tenants: tenants)
    }

    private static func tenant(named name: String, from entry: TOMLTable) throws(ClientAllowListError) -> Tenant {
        var tenant = Tenant(name: name)
        for field in entry.keys {
            guard let node = entry[field] else { continue }
            let problem = { (expected: String) in ClientAllowListError("tenants.\(name).\(field) = \(node.debugDescription): expected \(expected)") }
            switch field {
            case "curve_keys":
                guard let array = node.array else { throw problem("a list of Z85 public keys") }
                tenant.curveKeys = try array.map { (item) throws(ClientAllowListError) in
                    guard let key = item.string else { throw problem("a list of Z85 public keys") }
                    return key
                }
            case "uids":
                guard let array = node.array else { throw problem("a list of user ids") }
                tenant.uids = try array.map { (item) throws(ClientAllowListError) in
                    guard let uid = item.int, let value = UInt32(exactly: uid) else { throw problem("a list of user ids") }
                    return value
                }
            case "quota_bytes":
                guard let quota = node.int, quota >= 0 else { throw problem("a number of bytes, 0 or more") }
                tenant.quotaBytes = quota
            default:
                throw ClientAllowListError("tenants.\(name): unknown key \"\(field)\"; expected curve_keys, uids or quota_bytes")
            }
        }
        return tenant
    }
}
