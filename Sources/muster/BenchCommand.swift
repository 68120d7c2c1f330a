import ArgumentParser
import Foundation
import MusterBench
import MusterNet

/// `muster bench SCENARIO`: a STOMP-over-TLS load generator for Muster or any STOMP broker.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load-test a STOMP broker over mutual TLS (Muster or any other).",
        discussion: """
        Every scenario prints its figures as a table (or CSV with --format csv) and can append them to \
        a CSV file (--csv). Progress goes to stderr once a second. Destinations default to a fresh name \
        per run (/queue/bench.SCENARIO-XXXXXX), so messages left by earlier runs never count.
        """,
        subcommands: [Publish.self, EndToEnd.self, Latency.self, Fanout.self, Connections.self, Ceiling.self, FillLog.self])

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish as fast as receipts allow: a receipt every K messages, at most W unanswered.")
        @OptionGroup var options: BenchOptions
        @OptionGroup var receipts: ReceiptOptions
        @Option(help: "Messages to send.") var messages = 200_000
        @Option(help: "Publishing connections, each with its own thread.") var publishers = 1

        func validate() throws {
            try BenchOptions.requirePositive([("--messages", messages), ("--publishers", publishers)])
        }

        func run() throws {
            let scenario = PublishScenario(destination: options.destination(for: "publish"), messages: messages, bodySize: options.size,
                                           receiptEvery: receipts.receiptEvery, outstanding: receipts.outstanding, publishers: publishers)
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }

    struct EndToEnd: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "end-to-end",
            abstract: "P publishers and S subscribers on one destination; the rate at which messages arrive.")
        @OptionGroup var options: BenchOptions
        @Option(help: "Messages to send in all.") var messages = 100_000
        @Option(help: "Publishing connections.") var publishers = 1
        @Option(help: "Subscribing connections (on a queue they share the messages).") var subscribers = 1
        @Option(help: "auto, client or client-individual.") var ack = "client-individual"
        @OptionGroup var receipts: ReceiptOptions

        func validate() throws {
            try BenchOptions.requirePositive([("--messages", messages), ("--publishers", publishers), ("--subscribers", subscribers)])
        }

        func run() throws {
            let scenario = FlowScenario(shape: .endToEnd, destination: options.destination(for: "end-to-end"), messages: messages,
                                        bodySize: options.size, publishers: publishers, subscribers: subscribers, ackMode: ack,
                                        receiptEvery: receipts.receiptEvery, outstanding: receipts.outstanding)
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }

    struct Latency: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish at a steady rate; percentiles of publish-to-delivery time (HdrHistogram).")
        @OptionGroup var options: BenchOptions
        @Option(help: "Messages per second.") var rate = 1000
        @Option(help: "Seconds measured.") var duration = 10.0
        @Option(help: "Seconds sent before measuring starts.") var warmup = 2.0
        @Option(help: "auto, client or client-individual.") var ack = "auto"
        @Option(help: ArgumentHelp("Subscribe at this port of the same host instead (a federation peer that imports the destination).",
                                   valueName: "port")) var subscribePort: UInt16?

        func validate() throws {
            try BenchOptions.requirePositive([("--rate", rate)])
            guard duration > 0, warmup >= 0 else { throw ValidationError("--duration must be above 0 and --warmup at least 0") }
        }

        func run() throws {
            let scenario = LatencyScenario(destination: options.destination(for: "latency"), rate: rate, duration: duration,
                                           warmup: warmup, bodySize: options.size, ackMode: ack,
                                           subscriberAddress: subscribePort.map { SocketAddress(host: options.host, port: $0) })
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }

    struct Fanout: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One publisher, S topic subscribers that each get every message; deliveries per second.")
        @OptionGroup var options: BenchOptions
        @Option(help: "Messages to publish.") var messages = 50_000
        @Option(help: "Subscribing connections.") var subscribers = 10
        @Option(help: "auto, client or client-individual.") var ack = "auto"
        @OptionGroup var receipts: ReceiptOptions

        func validate() throws {
            try BenchOptions.requirePositive([("--messages", messages), ("--subscribers", subscribers)])
        }

        func run() throws {
            let scenario = FlowScenario(shape: .fanout, destination: options.destination(for: "fanout", kind: "topic"), messages: messages,
                                        bodySize: options.size, publishers: 1, subscribers: subscribers, ackMode: ack,
                                        receiptEvery: receipts.receiptEvery, outstanding: receipts.outstanding)
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }

    struct Connections: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open N mutual-TLS connections one after another and hold them; handshake rate and broker memory.")
        @OptionGroup var options: BenchOptions
        @Option(help: "Connections to open and hold.") var count = 10_000
        @Option(help: ArgumentHelp("The broker's process id, to read its resident memory from /proc.", valueName: "pid")) var brokerPid: Int32?
        @Option(help: "Seconds to hold the connections before reading memory.") var settle = 2.0

        func validate() throws {
            try BenchOptions.requirePositive([("--count", count)])
        }

        func run() throws {
            let scenario = ConnectionsScenario(count: count, brokerPID: brokerPid, settle: settle)
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }

    struct Ceiling: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "This machine's limit for a receipt per message: 1 / (1 KiB append + fdatasync + 1 KiB TLS round trip).",
            discussion: "The TLS round trip runs between two threads of this process, with --server-cert/--server-key on the server side and the client options on the other; the broker is not contacted.")
        @OptionGroup var options: BenchOptions
        @Option(help: ArgumentHelp("Directory on the file system the broker's log uses.", valueName: "dir")) var directory = "."
        @Option(help: "Samples per loop.") var samples = 2000
        @Option(help: ArgumentHelp("Server certificate for the TLS round trip (signed by a --ca).", valueName: "file")) var serverCert: String
        @Option(help: ArgumentHelp("Its private key.", valueName: "file")) var serverKey: String

        func validate() throws {
            try BenchOptions.requirePositive([("--samples", samples)])
        }

        func run() throws {
            let scenario = CeilingScenario(directory: directory, samples: samples, serverCertificate: serverCert, serverKey: serverKey)
            try options.report(scenario.run(against: options.target(), showProgress: !options.quiet))
        }
    }
}

/// How a publisher asks for receipts: every K-th message, at most W unanswered.
struct ReceiptOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Ask for a receipt on every K-th message (1: on every message).", valueName: "K")) var receiptEvery = 100
    @Option(help: ArgumentHelp("Receipts a publisher may have outstanding before it waits.", valueName: "W")) var outstanding = 16

    func validate() throws {
        try BenchOptions.requirePositive([("--receipt-every", receiptEvery), ("--outstanding", outstanding)])
    }
}
