import ArgumentParser
import ZeroMQ

/// `lomactl keygen`: a CURVE key pair for the daemon (`auth.server_secret_key_file`) or for a
/// client (its public key goes into the daemon's clients file).
struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a new CURVE key pair: the secret key to PATH (mode 0600), the public key to PATH.pub.",
        discussion: """
        For the daemon: set auth.server_secret_key_file = PATH and give clients PATH.pub. For a client: add the \
        public key to the daemon's clients file under a tenant and pass --client-key PATH --server-key SERVER.pub. \
        Existing files are never overwritten.
        """)

    @Argument(help: "Where to write the secret key; the public key goes to PATH.pub.")
    var path: String

    @Option(help: "Tenant to name in the printed clients-file snippet.")
    var tenant: String = "NAME"

    func run() throws {
        guard ZMQCurve.isAvailable else {
            printError("lomactl: keygen: this libzmq was built without CURVE support")
            throw ExitCode.failure
        }
        let publicKey: String
        do {
            publicKey = try ZMQCurve.writeKeyPair(toFile: path, comment: "written by lomactl keygen")
        } catch {
            printError("lomactl: keygen: \(error)")
            throw ExitCode.failure
        }
        print("secret key: \(path) (keep it private)")
        print("public key: \(path).pub")
        print("\(publicKey)")
        print("")
        print("# for a client, in the daemon's clients file (auth.clients_file):")
        print("[tenants.\(tenant)]")
        // Z85 has neither quote nor backslash, so the key goes into a TOML string as it is.
        print("curve_keys = [\"\(publicKey)\"]")
    }
}
