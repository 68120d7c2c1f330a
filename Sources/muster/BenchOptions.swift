import ArgumentParser
import Foundation
import MusterBench
import MusterNet
import MusterProtocol

/// What every `muster bench` scenario shares: the broker, the TLS identity, extra headers, output.
struct BenchOptions: ParsableArguments {
    @Option(help: "Broker host.") var host = "127.0.0.1"
    @Option(help: "Broker STOMP+TLS port.") var port: UInt16 = 61614
    @Option(help: ArgumentHelp("Name or IP the broker certificate must carry (default: the host).", valueName: "name")) var serverName: String?
    @Option(help: ArgumentHelp("Client certificate, PEM.", valueName: "file")) var cert = ".muster/certs/jinshan/langxia-town.crt"
    @Option(help: ArgumentHelp("Its private key, PEM.", valueName: "file")) var key = ".muster/certs/jinshan/langxia-town.key"
    @Option(help: ArgumentHelp("CA file(s) that signed the broker's certificate.", valueName: "file")) var ca: [String] = []
    @Option(help: "CONNECT login (RabbitMQ wants guest).") var login: String?
    @Option(help: "CONNECT passcode.") var passcode: String?
    @Option(help: ArgumentHelp("CONNECT host header (default: the host).", valueName: "name")) var vhost: String?
    @Option(help: ArgumentHelp("Header added to every SEND (repeatable), e.g. persistent:true.", valueName: "name:value")) var sendHeader: [String] = []
    @Option(help: ArgumentHelp("Header added to every SUBSCRIBE (repeatable), e.g. prefetch-count:1000.", valueName: "name:value")) var subscribeHeader: [String] = []
    @Option(help: ArgumentHelp("Destination (default: a fresh /queue/bench.SCENARIO-XXXXXX).", valueName: "dest")) var destination: String?
    @Option(help: "Body size in bytes.") var size = 1024
    @Option(help: "A label for the results (its CSV column), e.g. muster or rabbitmq-quorum.") var label = "broker"
    @Option(help: ArgumentHelp("Append result rows to this CSV file (the header is written when the file is new).", valueName: "file")) var csv: String?
    @Option(help: "Output on stdout: table or csv.") var format = "table"
    @Flag(help: "No progress lines on stderr.") var quiet = false

    func validate() throws {
        guard format == "table" || format == "csv" else { throw ValidationError("--format must be table or csv") }
        guard size >= 0 else { throw ValidationError("--size cannot be negative") }
    }

    /// Refuses a count that would make a run meaningless (zero publishers, zero messages...).
    static func requirePositive(_ values: [(String, Int)]) throws {
        for (option, value) in values where value < 1 {
            throw ValidationError("\(option) must be at least 1 (it is \(value))")
        }
    }

    func target() throws -> BenchTarget {
        // A broker that closes a connection must show up as an error, not kill the run.
        Socket.ignoreBrokenPipeSignal()
        return BenchTarget(address: SocketAddress(host: host, port: port), serverName: serverName,
                    tls: TLSConfiguration(certificatePath: cert, privateKeyPath: key,
                                          trustedAuthorityPaths: ca.isEmpty ? [".muster/certs/ca-bundle.crt"] : ca),
                    login: login, passcode: passcode, virtualHost: vhost,
                    sendHeaders: try sendHeader.map { try Self.header($0, option: "--send-header") },
                    subscribeHeaders: try subscribeHeader.map { try Self.header($0, option: "--subscribe-header") })
    }

    func destination(for scenario: String, kind: String = "queue") -> String {
        destination ?? "/\(kind)/bench.\(scenario)-\(String(UInt32.random(in: 0..<UInt32.max), radix: 16))"
    }

    func report(_ result: BenchResult) throws {
        print(format == "csv" ? ([BenchReport.csvHeader] + BenchReport.csvRows(result, label: label)).joined(separator: "\n")
                              : BenchReport.table(result, label: label))
        guard let csv else { return }
        let isNew = ((try? FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int) ?? 0) == 0
        let rows = (isNew ? [BenchReport.csvHeader] : []) + BenchReport.csvRows(result, label: label)
        guard let handle = FileHandle(forWritingAtPath: csv) ?? (FileManager.default.createFile(atPath: csv, contents: nil) ? FileHandle(forWritingAtPath: csv) : nil) else {
            throw CommandFailure("cannot write \(csv); check the path")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data((rows.joined(separator: "\n") + "\n").utf8))
    }

    static func header(_ text: String, option: String) throws -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw ValidationError("\(option) \(text): write it as name:value")
        }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
