import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("lomactl against a real daemon")
struct LomactlTests {
    @Test("health and stats, human-readable and JSON")
    func healthAndStats() throws {
        let daemon = try DaemonProcess()
        let health = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint])
        #expect(health.status == 0)
        #expect(health.stdout.contains("protocol 1"))
        #expect(health.stdout.contains("shared memory 1.0 GiB per request (ipc)"), "\(health.stdout)")
        let json = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint, "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["protocol_version"] as? Int == 1)
        let limits = object?["limits"] as? [String: Any]
        #expect(limits?["max_frame_bytes"] is NSNumber, "64-bit integers are JSON numbers: \(json.stdout)")
        #expect(limits?["shared_memory_max_bytes"] as? Int == 1 << 30)
        let stats = try CommandRun.lomactl(["stats", "--endpoint", daemon.endpoint])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("health: ok=2, latency mean"), "\(stats.stdout)")
        #expect(stats.stdout.contains("model loma-tiny: loaded in"), "\(stats.stdout)")
    }

    @Test("health names what each number is; models lists the KV shape each model expects")
    func healthAndModelsDescribeShapes() throws {
        let daemon = try DaemonProcess()
        let health = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint])
        #expect(health.status == 0)
        let models = try CommandRun.lomactl(["models", "--endpoint", daemon.endpoint, "--json"])
        #expect(models.status == 0, "\(models.stderr)")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(models.stdout.utf8)) as? [[String: Any]])
        let model = try #require(list.first)
        let (layers, kvHeads, headDim) = (try #require(model["layers"] as? Int), try #require(model["kv_heads"] as? Int),
                                          try #require(model["head_dim"] as? Int))
        #expect(model["name"] as? String == "loma-tiny")
        #expect(health.stdout.contains("\(layers) layers, \(kvHeads) kv heads x head_dim \(headDim), segment "), "\(health.stdout)")
        let text = try CommandRun.lomactl(["models", "--endpoint", daemon.endpoint])
        #expect(text.status == 0)
        #expect(text.stdout.contains("loma-tiny: "))
        #expect(text.stdout.contains("[\(layers), \(kvHeads), tokens, \(headDim)] heads_major"), "\(text.stdout)")
        #expect(text.stdout.contains("[\(layers), tokens, \(kvHeads), \(headDim)] tokens_major"), "\(text.stdout)")
    }

    @Test("stats --json is plain JSON: numbers as numbers, statuses by name, OK counted")
    func statsJSON() throws {
        let daemon = try DaemonProcess()
        #expect(try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint]).status == 0)
        #expect(try CommandRun.lomactl(["delete", "nothing-here", "--endpoint", daemon.endpoint]).status == 4)
        let run = try CommandRun.lomactl(["stats", "--endpoint", daemon.endpoint, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let operations = try #require(stats["operations"] as? [[String: Any]])
        let health = try #require(operations.first { $0["operation"] as? String == "health" })
        #expect((health["statuses"] as? [String: Any])?["ok"] as? Int == 1, "\(run.stdout)")
        let delete = try #require(operations.first { $0["operation"] as? String == "delete_sequence" }, "\(run.stdout)")
        #expect((delete["statuses"] as? [String: Any])?["not_found"] as? Int == 1, "\(run.stdout)")
        #expect(stats["workers"] as? Int ?? 0 > 0)
        #expect(stats["held_request_bytes"] is NSNumber, "64-bit counters are JSON numbers: \(run.stdout)")
        #expect((stats["tenant"] as? [String: Any])?["bytes"] is NSNumber)
        #expect(!run.stdout.contains("\"0\""), "no number written as a string: \(run.stdout)")
    }

    @Test("exit code 3 at once when no daemon is there: no socket file, or a refused tcp port")
    func noDaemon() throws {
        let directory = try TemporaryDirectory("lomactl-none")
        defer { directory.remove() }
        // With a 60 s timeout, returning at all within the test shows nobody waited for it.
        let endpoint = "ipc://\(directory.path)/x.sock"
        let start = ContinuousClock.now
        let run = try CommandRun.lomactl(["health", "--endpoint", endpoint, "--timeout", "60"])
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(run.status == 3)
        #expect(run.stderr == "lomactl: health: no lomad at \(endpoint): the socket file does not exist (is lomad running?)\n")

        let context = try ZMQContext()
        let probe = try ZMQSocket(context: context, type: .router)
        try probe.bind("tcp://127.0.0.1:*")
        let tcp = try probe.lastEndpoint
        probe.close()
        context.terminate()
        let refused = try CommandRun.lomactl(["stats", "--endpoint", tcp, "--timeout", "60"])
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(refused.status == 3)
        #expect(refused.stderr == "lomactl: stats: no lomad at \(tcp): connection refused\n")
    }

    @Test("a CURVE key the daemon does not admit exits 5 at once, naming the fix")
    func notAdmitted() throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "alice", clients: ["alice"])])
        let scratch = try TemporaryDirectory("lomactl-curve")
        defer { scratch.remove() }
        let key = scratch.url.appendingPathComponent("eve.key").path
        #expect(try CommandRun.lomactl(["keygen", key]).status == 0)
        let start = ContinuousClock.now
        let run = try CommandRun.lomactl(["health", "--endpoint", setup.tcpEndpoint, "--server-key", setup.serverKeys.publicKey,
                                          "--client-key", key, "--timeout", "60"])
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(run.status == 5)
        #expect(run.stderr.hasPrefix("lomactl: health: lomad at \(setup.tcpEndpoint) refused this client: " +
                                     "the daemon does not admit this client's CURVE key"), "\(run.stderr)")
    }

    @Test("an endpoint that is not one exits 2 with the fix, without contacting anything", arguments: [
        ("/tmp/x/l.sock", "lomactl: health: not an endpoint: '/tmp/x/l.sock'; did you mean ipc:///tmp/x/l.sock?"),
        ("ipc://tmp/x/l.sock", "lomactl: health: ipc path 'tmp/x/l.sock' is relative; write ipc:///tmp/x/l.sock"),
        ("tcp://localhost", "lomactl: health: 'tcp://localhost' has no port; write tcp://localhost:PORT"),
    ])
    func invalidEndpoint(_ endpoint: String, _ message: String) throws {
        let run = try CommandRun.lomactl(["health", "--endpoint", endpoint])
        #expect(run.status == 2)
        #expect(run.stderr == message + "\n")
    }

    @Test("--help documents every exit code and the timeout policy")
    func helpDocumentsExitCodes() throws {
        let help = try CommandRun.lomactl(["--help"])
        #expect(help.status == 0)
        let text = help.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for code in ["0 ok", "1 unexpected failure", "2 invalid endpoint", "3 no daemon answered", "4 lomad answered with an error",
                     "5 not admitted", "64 usage error", "65 bad input file", "(default 5)", "(default 2)"] {
            #expect(text.contains(code), "\(code) missing from:\n\(help.stdout)")
        }
    }

    @Test("a typo in a choice names the valid ones and the subcommand's usage, exit 64")
    func choiceTypo() throws {
        let run = try CommandRun.lomactl(["compress", "--input", "a", "--output", "b", "--method", "lomaa"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("'loma', 'mean_pool' or 'strided'"), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: lomactl compress"), "\(run.stderr)")
        let layout = try CommandRun.lomactl(["compress", "--input", "a", "--output", "b", "--layout", "tokens"])
        #expect(layout.status == 64)
        #expect(layout.stderr.contains("'heads_major' and 'tokens_major'"), "\(layout.stderr)")
    }

    @Test("compress through the daemon writes the same file as lomad compress; memory, sequences, fork, delete")
    func compressAndSequenceCommands() throws {
        let fixtureCase = try StoreOperationTests.multiSegmentCase()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let scratch = try TemporaryDirectory("lomactl")
        defer { scratch.remove() }
        let viaDaemon = scratch.url.appendingPathComponent("daemon.safetensors").path
        let offline = scratch.url.appendingPathComponent("offline.safetensors").path
        let stored = scratch.url.appendingPathComponent("stored.safetensors").path
        let position = String(fixtureCase.description.position)
        let endpoint = ["--endpoint", daemon.endpoint]

        let compress = try CommandRun.lomactl(["compress", "--model", "m", "--input", fixtureCase.input.path,
                                               "--output", viaDaemon, "--sequence", "s", "--position", position] + endpoint)
        #expect(compress.status == 0, "\(compress.stderr)")
        let local = try CommandRun.lomad(["compress", "--model", fixtureCase.modelDirectory.path,
                                          "--input", fixtureCase.input.path, "--output", offline, "--position", position])
        #expect(local.status == 0, "\(local.stderr)")
        let memory = try CommandRun.lomactl(["memory", "--sequence", "s", "--output", stored] + endpoint)
        #expect(memory.status == 0, "\(memory.stderr)")

        let expected = try KVFileComparison.expected(fixtureCase.expected)
        for path in [viaDaemon, offline, stored] {
            let file = try KVFileComparison.expected(URL(fileURLWithPath: path))
            #expect(KVFileComparison.relativeError(file.keys, expected.keys) < 1e-4, "\(path)")
            #expect(KVFileComparison.relativeError(file.values, expected.values) < 1e-4, "\(path)")
            #expect(file.positions == expected.positions, "\(path)")
        }

        #expect(try CommandRun.lomactl(["fork", "s", "t"] + endpoint).status == 0)
        let listed = try CommandRun.lomactl(["sequences"] + endpoint)
        #expect(listed.stdout.contains("\ns\tm\t") && listed.stdout.contains("\nt\tm\t"), "\(listed.stdout)")
        #expect(try CommandRun.lomactl(["delete", "t"] + endpoint).status == 0)
        let missing = try CommandRun.lomactl(["delete", "t"] + endpoint)
        #expect(missing.status == 4)
        #expect(missing.stderr.contains("not_found"))
    }

    @Test("--layout tokens_major compresses a tokens-major file; read heads-major it gets a hint at --layout")
    func tokensMajorLayout() throws {
        let fixtureCase = try RepositoryPaths.modelFixtures.loadCase("strided_bf16_tokens_major")
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let scratch = try TemporaryDirectory("lomactl-layout")
        defer { scratch.remove() }
        let output = scratch.url.appendingPathComponent("out.safetensors").path
        let common = ["compress", "--input", fixtureCase.input.path, "--output", output, "--method", "strided",
                      "--position", String(fixtureCase.description.position), "--dtype", "f32", "--endpoint", daemon.endpoint]

        let wrong = try CommandRun.lomactl(common)
        #expect(wrong.status == 4)
        #expect(wrong.stderr.hasPrefix("lomactl: compress: lomad answered invalid_argument: "), "\(wrong.stderr)")
        #expect(wrong.stderr.hasSuffix("— is the file tokens_major? pass --layout tokens_major\n"), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))

        let right = try CommandRun.lomactl(common + ["--layout", "tokens_major"])
        #expect(right.status == 0, "\(right.stderr)")
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        let written = try KVFileComparison.expected(URL(fileURLWithPath: output))
        #expect(KVFileComparison.relativeError(written.keys, expected.keys) < 1e-6)
        #expect(KVFileComparison.relativeError(written.values, expected.values) < 1e-6)
        #expect(written.positions == expected.positions)
    }

    @Test("bad input files exit 65 and say what is wrong; a missing output directory exits 1 and is named")
    func inputFileErrors() throws {
        let daemon = try DaemonProcess()
        let scratch = try TemporaryDirectory("lomactl-files")
        defer { scratch.remove() }
        let output = scratch.url.appendingPathComponent("out.safetensors").path
        func compress(_ input: String, output: String = output) throws -> CommandRun {
            try CommandRun.lomactl(["compress", "--input", input, "--output", output, "--endpoint", daemon.endpoint])
        }

        let text = scratch.url.appendingPathComponent("notes.txt").path
        try Data("this is plain text, not tensors\n".utf8).write(to: URL(fileURLWithPath: text))
        let notSafetensors = try compress(text)
        #expect(notSafetensors.status == 65)
        #expect(notSafetensors.stderr == "lomactl: compress: \(text) is not a safetensors file " +
                "(it does not begin with a header length and a JSON header)\n")

        var writer = SafetensorsWriter()
        writer.add("k", dtypeName: "F32", shape: [1, 1, 1, 1], rawBytes: Data(count: 4))
        writer.add("past_values", dtypeName: "F32", shape: [1, 1, 1, 1], rawBytes: Data(count: 4))
        let wrongNames = scratch.url.appendingPathComponent("names.safetensors")
        try writer.write(to: wrongNames)
        let missing = try compress(wrongNames.path)
        #expect(missing.status == 65)
        #expect(missing.stderr == "lomactl: compress: \(wrongNames.path) has no tensor 'keys'; it has 'k', 'past_values' " +
                "(a KV file holds 'keys' and 'values')\n")

        let absent = try compress(scratch.url.appendingPathComponent("absent.safetensors").path)
        #expect(absent.status == 65)
        #expect(absent.stderr.contains("absent.safetensors: no such file"), "\(absent.stderr)")

        let fixtureCase = try StoreOperationTests.multiSegmentCase()
        let nowhere = scratch.url.appendingPathComponent("no/such/dir/out.safetensors").path
        let noDirectory = try compress(fixtureCase.input.path, output: nowhere)
        #expect(noDirectory.status == 1)
        #expect(noDirectory.stderr == "lomactl: compress: cannot write \(nowhere): the directory " +
                "\(scratch.url.appendingPathComponent("no/such/dir").path) does not exist\n")
    }

    @Test("prefix publish stores a prefix's memory under its token ids; prefix lookup finds the longest published prefix")
    func prefixPublishAndLookup() throws {
        let fixtureCase = try StoreOperationTests.multiSegmentCase()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let scratch = try TemporaryDirectory("lomactl-prefix")
        defer { scratch.remove() }
        let endpoint = ["--endpoint", daemon.endpoint]
        let memory = scratch.url.appendingPathComponent("memory.safetensors").path
        let found = scratch.url.appendingPathComponent("found.safetensors").path
        let compress = try CommandRun.lomactl(["compress", "--input", fixtureCase.input.path, "--output", memory,
                                               "--position", "0", "--dtype", "f32"] + endpoint)
        #expect(compress.status == 0, "\(compress.stderr)")

        let segments = fixtureCase.description.segments
        let tokenCount = try SafetensorsFile(url: fixtureCase.input).info("keys").shape[2]
        let tokens = (0..<tokenCount).map { 1000 + $0 }
        let tokensFile = scratch.url.appendingPathComponent("tokens.txt")
        try Data(tokens.map(String.init).joined(separator: " ").utf8).write(to: tokensFile)

        let publish = try CommandRun.lomactl(["prefix", "publish", "--tokens", tokensFile.path, "--memory", memory] + endpoint)
        #expect(publish.status == 0, "\(publish.stderr)")
        #expect(publish.stdout.contains("published \(segments) chunk(s)"), "\(publish.stdout)")

        let lookup = try CommandRun.lomactl(["prefix", "lookup", "--tokens", tokensFile.path, "--output", found] + endpoint)
        #expect(lookup.status == 0, "\(lookup.stderr)")
        #expect(lookup.stdout.contains("matched \(segments) of \(segments) chunk(s)"), "\(lookup.stdout)")
        let published = try KVFileComparison.expected(URL(fileURLWithPath: memory))
        let looked = try KVFileComparison.expected(URL(fileURLWithPath: found))
        #expect(KVFileComparison.relativeError(looked.keys, published.keys) == 0)
        #expect(KVFileComparison.relativeError(looked.values, published.values) == 0)
        #expect(looked.positions == published.positions)

        // Changing one token of the second chunk leaves only the first chunk matching.
        var diverging = tokens
        diverging[tokenCount / segments + 1] += 1
        let divergingFile = scratch.url.appendingPathComponent("diverging.txt")
        try Data(diverging.map(String.init).joined(separator: "\n").utf8).write(to: divergingFile)
        let partial = try CommandRun.lomactl(["prefix", "lookup", "--tokens", divergingFile.path] + endpoint)
        #expect(partial.status == 0, "\(partial.stderr)")
        #expect(partial.stdout.contains("matched 1 of \(segments) chunk(s)"), "\(partial.stdout)")

        let badTokens = scratch.url.appendingPathComponent("bad.txt")
        try Data("1 2 three".utf8).write(to: badTokens)
        let bad = try CommandRun.lomactl(["prefix", "lookup", "--tokens", badTokens.path] + endpoint)
        #expect(bad.status == 65)
        #expect(bad.stderr == "lomactl: prefix lookup: \(badTokens.path): token 2 is 'three', not a number from 0 to \(UInt32.max)\n")
    }
}
