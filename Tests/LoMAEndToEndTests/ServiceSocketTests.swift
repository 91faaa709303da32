import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

@Suite("ipc socket permissions from the configuration")
struct ServiceSocketTests {
    private func mode(of path: String) throws -> (mode: UInt16, group: gid_t) {
        var info = stat()
        try #require(stat(path, &info) == 0, "cannot stat \(path)")
        return (UInt16(info.st_mode & 0o777), info.st_gid)
    }

    @Test("the socket file is mode 0660 by default, before READY=1")
    func defaultMode() throws {
        let manager = try ServiceNotifyListener()
        let daemon = try DaemonProcess(environment: manager.environment())
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)))
        let path = String(daemon.endpoint.dropFirst("ipc://".count))
        #expect(try mode(of: path).mode == 0o660)
    }

    @Test("socket.mode and socket.group are applied")
    func configuredModeAndGroup() throws {
        let group = try #require(getgrgid(getgid())).pointee
        let name = String(cString: group.gr_name)
        let daemon = try DaemonProcess(arguments: ["--socket-mode", "0600", "--socket-group", name])
        let path = String(daemon.endpoint.dropFirst("ipc://".count))
        let applied = try mode(of: path)
        #expect(applied.mode == 0o600)
        #expect(applied.group == group.gr_gid)
        #expect(try WireProbe(endpoint: daemon.endpoint).stillServes())
    }

    @Test("a group that does not exist stops start-up with a message naming it")
    func unknownGroup() throws {
        #expect {
            try DaemonProcess(arguments: ["--socket-group", "no-such-group-lomad-test"])
        } throws: { error in
            "\(error)".contains("socket group 'no-such-group-lomad-test' does not exist")
        }
    }

    @Test("a bad mode is refused with the key and value")
    func badMode() throws {
        let run = try CommandRun.lomad(["serve", "--socket-mode", "999", "--print-config"])
        #expect(run.status == 78)
        #expect(run.stderr.contains("--socket-mode: socket.mode = 999"))
    }
}
