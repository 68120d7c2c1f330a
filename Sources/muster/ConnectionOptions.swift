import ArgumentParser
import Foundation
import MusterClient
import MusterNet

/// The flags every client command shares; each defaults from an environment variable.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Broker address HOST:PORT (env MUSTER_SERVER; default 127.0.0.1:61614).", valueName: "host:port"))
    var server: String?

    @Option(help: ArgumentHelp("Client certificate, PEM, with a muster://JURISDICTION/PARTY URI name (env MUSTER_CERT).", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("Private key of the client certificate, PEM (env MUSTER_KEY).", valueName: "file"))
    var key: String?

    @Option(help: ArgumentHelp("CA file(s) that signed the broker's certificate, PEM (env MUSTER_CA; default .muster/certs/ca-bundle.crt).", valueName: "file"))
    var ca: [String] = []

    @Option(help: ArgumentHelp("Name or IP the broker certificate must carry (default: the server host).", valueName: "name"))
    var serverName: String?

    func clientOptions() throws -> ClientOptions {
        let environment = ProcessInfo.processInfo.environment
        let serverText = server ?? environment["MUSTER_SERVER"] ?? "127.0.0.1:61614"
        let address: SocketAddress
        do { address = try SocketAddress(parsing: serverText) } catch { throw ValidationError("--server: \(error)") }
        guard let certificate = cert ?? environment["MUSTER_CERT"] else {
            throw ValidationError("no client certificate: pass --cert FILE or set MUSTER_CERT (mutual TLS is required)")
        }
        guard let privateKey = key ?? environment["MUSTER_KEY"] else {
            throw ValidationError("no private key: pass --key FILE or set MUSTER_KEY")
        }
        let authorities = !ca.isEmpty ? ca : (environment["MUSTER_CA"].map { $0.split(separator: ":").map(String.init) } ?? [".muster/certs/ca-bundle.crt"])
        return ClientOptions(server: address, serverName: serverName,
                             identity: ClientIdentity(certificatePath: certificate, privateKeyPath: privateKey,
                                                      trustedAuthorityPaths: authorities))
    }
}
