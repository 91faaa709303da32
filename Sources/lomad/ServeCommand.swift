import ArgumentParser
import Foundation
import LoMAService

/// `lomad serve`: the daemon in the foreground until SIGTERM or SIGINT; SIGHUP reloads the
/// configuration. Besides `--config`, `--print-config` and `--set`, every flag is declared with the
/// key it sets in `ServiceSettings.keys` and read by `ServiceSettings.assignments`, so a new
/// setting gets its flag and its help without a line here. `LOMAD_*` environment variables
/// override flags and file.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground until SIGTERM or SIGINT (SIGHUP reloads the configuration).",
        usage: "lomad serve [--config <config>] [--print-config] [--set <key=value> ...] [<setting flags> ...]",
        discussion: """
        Settings come from a TOML file (--config, else $LOMAD_CONFIG, else $CONFIGURATION_DIRECTORY/lomad.toml \
        when systemd sets it), then these flags, then LOMAD_* environment variables (LOMAD_ + the key in capitals, \
        '.' as '_', e.g. LOMAD_LIMITS_QUEUE_DEPTH). `lomad serve --print-config` shows the result; [reload] marks \
        the settings SIGHUP applies without a restart.

        SETTING FLAGS:
        \(ServiceSettings.flagHelp)
        """)

    @Option(help: "TOML configuration file.")
    var config: String?

    @Flag(help: "Print the effective configuration as TOML and exit.")
    var printConfig = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Set any configuration key, e.g. --set limits.queue_depth=32; repeatable.",
                                                         valueName: "key=value"))
    var assignments: [String] = []

    /// Every other argument: the setting flags, which `ServiceSettings.assignments` reads from the
    /// keys' declarations (listed in the discussion above).
    @Argument(parsing: .allUnrecognized, help: .hidden)
    var settingFlags: [String] = []

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let sources: SettingsSources
        let settings: ServiceSettings
        do {
            sources = try SettingsSources(configurationFlag: config,
                                          flags: try ServiceSettings.assignments(sets: assignments, flags: settingFlags),
                                          environment: environment)
            settings = try sources.resolve()
        } catch {
            printError("lomad: \(error)")
            throw ExitCode(Daemon.configurationExitCode)
        }
        if printConfig {
            print(settings.tomlText, terminator: "")
            return
        }
        do {
            try Daemon(sources: sources, settings: settings, environment: environment).run()
        } catch is StartupFailure {
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
