import Foundation
import LoMARuntime
import LoMAService
import LoMAStore
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("The clients file")
struct ClientAllowListTests {
    @Test("The shipped example parses and admits nobody")
    func shippedExample() throws {
        let list = try ClientAllowList(contentsOf: RepositoryPaths.root.appendingPathComponent("systemd/clients.toml"))
        #expect(list.tenants.isEmpty)
    }

    @Test("Keys, uids and quotas map to their tenants")
    func mapping() throws {
        let alice = try ZMQCurve.keyPair().publicKey, bob = try ZMQCurve.keyPair().publicKey
        let list = try ClientAllowList(tomlText: """
            [tenants.alice]
            curve_keys = ["\(alice)"]
            uids = [1001, 1002]
            quota_bytes = 4096
            [tenants."team b"]
            curve_keys = ["\(bob)"]
            """)
        #expect(list.tenant(forCurveKey: alice) == "alice")
        #expect(list.tenant(forCurveKey: bob) == "team b")
        #expect(list.tenant(forUID: 1002) == "alice")
        #expect(list.tenant(forUID: 7) == nil)
        #expect(list.quotaBytes(of: "alice") == 4096)
        #expect(list.quotaBytes(of: "team b") == nil)

        let directory = TenantDirectory(allowList: list, defaultQuotaBytes: 100, defaultTenant: CompressedMemoryStore.defaultTenant)
        #expect(directory.quotaBytes(of: "alice") == 4096)
        #expect(directory.quotaBytes(of: "team b") == 100, "the default applies to tenants without their own quota")
        directory.update(allowList: list, defaultQuotaBytes: 0)
        #expect(directory.quotaBytes(of: "team b") == nil, "0 means no limit")
    }

    @Test("Every kind of mistake is refused with the tenant and field named",
          arguments: [
              ("tenants = 3", "must be a table"),
              ("[other]\nx = 1", "unknown top-level key \"other\""),
              ("[tenants.a]\ncurve_keys = [\"short\"]", "tenant \"a\": \"short\" is not a 40-character Z85"),
              ("[tenants.a]\ncurve_keys = \"x\"", "tenants.a.curve_keys"),
              ("[tenants.a]\nuids = [-1]", "tenants.a.uids"),
              ("[tenants.a]\nuids = [4294967296]", "tenants.a.uids"),
              ("[tenants.a]\nquota_bytes = -5", "tenants.a.quota_bytes"),
              ("[tenants.a]\nquota = 5", "unknown key \"quota\""),
              ("[tenants.a]\nuids = [5]\n[tenants.b]\nuids = [5]", "uid 5 is listed for both \"a\" and \"b\""),
              ("[tenants.a", "not valid TOML at line 1"),
              // Text TOMLKit's parser aborted on (found by fuzzing lomad.toml; docs/fuzzing.md).
              ("[é]", "not valid TOML at line 1, column 2: expected a key, found 'é'"),
              ("[tenants.a]\nuids = [1]\u{0}", "line 2, column 11: expected the end of the line, found control character U+0000"),
          ])
    func mistakes(text: String, mention: String) throws {
        let error = try #require(throws: ClientAllowListError.self) { try ClientAllowList(tomlText: text) }
        #expect(error.description.contains(mention), "\(error.description)")
    }

    @Test("A missing file is named")
    func missingFile() throws {
        let error = try #require(throws: ClientAllowListError.self) {
            try ClientAllowList(contentsOf: URL(fileURLWithPath: "/nonexistent/clients.toml"))
        }
        #expect(error.description.contains("/nonexistent/clients.toml"))
    }
}
