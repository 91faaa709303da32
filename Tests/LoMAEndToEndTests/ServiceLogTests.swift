import Foundation
import LoMATestSupport
import Testing

@Suite("log lines: logfmt, journald priorities, level from configuration")
struct ServiceLogTests {
    @Test("a terminal gets timestamped key=value lines")
    func timestamped() throws {
        let daemon = try DaemonProcess(environment: ["JOURNAL_STREAM": ""])
        let serving = try #require(ServiceLogLine.lines(of: daemon.log).first { $0["msg"] == "serving" })
        #expect(serving.priority == nil)
        #expect(serving["ts"]?.hasSuffix("Z") == true)
        #expect(serving["level"] == "info")
        #expect(serving["logger"] == "lomad")
        #expect(serving["workers"] == "2")
    }

    @Test("under journald: a syslog priority prefix and no timestamp")
    func journal() throws {
        let daemon = try DaemonProcess(environment: ["JOURNAL_STREAM": "8:12345"])
        let lines = ServiceLogLine.lines(of: daemon.log)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0["ts"] == nil && $0.priority != nil })
        #expect(lines.first { $0["msg"] == "serving" }?.priority == 6)
    }

    @Test("log.level filters events", arguments: [("info", true), ("warning", false)])
    func level(level: String, showsInfo: Bool) throws {
        // Start-up fails after the store is opened (logged at info), so the run ends by itself.
        let scratch = try TemporaryDirectory("lomad-level")
        defer { scratch.remove() }
        let run = try CommandRun.lomad(["serve", "--log-level", level, "--endpoint", "ipc://\(scratch.path)/l.sock",
                                        "--socket-group", "no-such-group-lomad-test"])
        #expect(run.status != 0)
        let lines = ServiceLogLine.lines(of: run.stderr)
        #expect(lines.contains { $0["level"] == "critical" && $0["error"]?.contains("no-such-group-lomad-test") == true })
        #expect(lines.contains { $0["level"] == "info" } == showsInfo, "stderr:\n\(run.stderr)")
    }
}
