import Foundation
import LoMATestSupport
import Testing

@Suite("systemd unit and install script")
struct ServiceSystemdUnitTests {
    private static let root = RepositoryPaths.root

    /// Runs a program found on PATH.
    private func runTool(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        try CommandRun.run(executable: URL(fileURLWithPath: "/usr/bin/env"), arguments, environment: environment)
    }

    /// Installs into a fresh DESTDIR with the binaries this test run built.
    private func install() throws -> TemporaryDirectory {
        let destination = try TemporaryDirectory("lomad-destdir")
        let run = try runTool(["bash", Self.root.appendingPathComponent("Tools/install.sh").path], environment: [
            "DESTDIR": destination.path, "PREFIX": "/usr/local", "BUILD": "none",
            "BINDIR_SOURCE": DaemonProcess.binaryDirectory.path,
        ])
        try #require(run.status == 0, "install.sh failed:\n\(run.stdout)\n\(run.stderr)")
        return destination
    }

    @Test("install.sh places binary, unit, sysusers, configuration and docs under DESTDIR")
    func installLayout() throws {
        let destination = try install()
        defer { destination.remove() }
        for path in ["usr/local/bin/lomad", "usr/local/bin/lomactl", "usr/local/lib/systemd/system/lomad.service",
                     "usr/local/lib/sysusers.d/lomad.conf", "etc/lomad/lomad.toml", "etc/lomad/clients.toml",
                     "usr/local/share/doc/lomad/service.md"] {
            #expect(FileManager.default.fileExists(atPath: destination.url.appendingPathComponent(path).path), "missing \(path)")
        }
        #expect(FileManager.default.isExecutableFile(atPath: destination.url.appendingPathComponent("usr/local/bin/lomad").path))
        let unit = try String(contentsOf: destination.url.appendingPathComponent("usr/local/lib/systemd/system/lomad.service"),
                              encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/local/bin/lomad serve --config /etc/lomad/lomad.toml\n"))
    }

    @Test("systemd-analyze verify accepts the installed unit")
    func verifyUnit() throws {
        let destination = try install()
        defer { destination.remove() }
        // verify checks that ExecStart's program exists: point it at the staged binary.
        let installed = destination.url.appendingPathComponent("usr/local/lib/systemd/system/lomad.service")
        let unit = try String(contentsOf: installed, encoding: .utf8)
            .replacingOccurrences(of: "ExecStart=/usr/local/bin/lomad", with: "ExecStart=\(destination.path)/usr/local/bin/lomad")
        let check = destination.url.appendingPathComponent("lomad.service")
        try unit.write(to: check, atomically: true, encoding: .utf8)
        let run = try runTool(["systemd-analyze", "verify", check.path])
        #expect(run.status == 0, "systemd-analyze verify (Debian package systemd) failed:\n\(run.stderr)")
        #expect(run.stderr.isEmpty, "systemd-analyze verify warned:\n\(run.stderr)")
    }

    @Test("the unit keeps the settings the service depends on")
    func unitSettings() throws {
        let unit = try String(contentsOf: Self.root.appendingPathComponent("systemd/lomad.service"), encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        for required in ["Type=notify", "Restart=on-failure", "RuntimeDirectory=lomad", "StateDirectory=lomad",
                         "ConfigurationDirectory=lomad", "User=lomad", "SupplementaryGroups=lomad-clients", "LimitNOFILE=65536",
                         "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
                         "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service", "CapabilityBoundingSet=",
                         "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "RestartPreventExitStatus=78"] {
            #expect(lines.contains(required), "systemd/lomad.service lacks \(required)")
        }
        #expect(lines.contains { $0.hasPrefix("WatchdogSec=") })
    }
}
