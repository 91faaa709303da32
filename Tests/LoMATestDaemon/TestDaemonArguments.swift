import LoMAService

/// The few `lomad serve` flags the tests give (`--endpoint`, `--set`), and the stall.
struct TestDaemonArguments {
    var assignments: [SettingAssignment] = []
    var stallAfter: Duration = .zero

    init(_ arguments: ArraySlice<String>) throws {
        var rest = arguments
        guard rest.popFirst() == "serve" else { throw TestDaemonArgumentError("expected 'serve' first") }
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw TestDaemonArgumentError("\(flag) needs a value") }
            switch flag {
            case "--endpoint":
                assignments.append(SettingAssignment(flag: flag, key: "endpoints", text: value))
            case "--set":
                let parts = value.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw TestDaemonArgumentError("--set \(value): expected KEY=VALUE") }
                assignments.append(SettingAssignment(flag: "--set \(value)", key: parts[0], text: parts[1]))
            case "--stall-broker-after":
                guard let seconds = Double(value), seconds >= 0, seconds.isFinite else {
                    throw TestDaemonArgumentError("--stall-broker-after \(value): expected seconds")
                }
                stallAfter = .milliseconds(Int64(seconds * 1000))
            default:
                throw TestDaemonArgumentError("unknown flag \(flag)")
            }
        }
    }
}
