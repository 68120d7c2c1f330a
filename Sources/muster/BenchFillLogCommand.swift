import ArgumentParser
import Foundation
import MusterLog

extension BenchCommand {
    /// `muster bench fill-log`: writes a large log directly (no broker), for the scale benchmark.
    struct FillLog: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fill-log",
            abstract: "Write N message records into a broker's (stopped) data directory, for scale measurements.",
            discussion: """
            Records go to /queue/bench.bulk.0 … bulk.9 in turn; every --rare-every-th goes to /queue/bench.rare \
            instead (0.1% by default). The log is written with fsync interval(1000) and synced at the end. \
            Appends to an existing log (whose records must be older than the ones it writes); the broker must not be \
            running (the log's directory lock says so).
            """)
        @Option(help: ArgumentHelp("The broker's data directory.", valueName: "dir")) var data: String
        @Option(help: "Records to write.") var records = 10_000_000
        @Option(help: "Body bytes per record.") var size = 256
        @Option(help: "One record in this many goes to /queue/bench.rare.") var rareEvery = 1000
        @Option(help: "Segment size in bytes (the broker's default is 64 MiB).") var segmentBytes = 64 << 20
        @Option(help: "Stamp the records as if written this many days ago (history, not this morning's traffic).") var ageDays = 0

        func validate() throws {
            try BenchOptions.requirePositive([("--records", records), ("--rare-every", rareEvery), ("--segment-bytes", segmentBytes)])
            guard ageDays >= 0 else { throw ValidationError("--age-days must be 0 or more") }
        }

        func run() throws {
            let age = Int64(ageDays) * 86_400_000
            var options = LogOptions(dataDirectory: data, segmentBytes: segmentBytes, fsync: .interval(milliseconds: 1000),
                                     clock: { LogClock.milliseconds() - age })
            options.notice = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
            let log = try MessageLog.open(options)
            let body = [UInt8](repeating: UInt8(ascii: "x"), count: size)
            let window = DispatchSemaphore(value: 4096)
            let failure = LockedFailure()
            let started = Date()
            for index in 0..<records {
                let destination = index % rareEvery == rareEvery / 2 ? "/queue/bench.rare" : "/queue/bench.bulk.\(index % 10)"
                let entry = LogEntry(destination: destination, headers: [LogHeader("content-type", "text/plain"), LogHeader("sequence", String(index))],
                                     body: body)
                window.wait()
                log.append(entry, sync: false) { result in
                    if case .failure(let error) = result { failure.set(error) }
                    window.signal()
                }
                if index % 1_000_000 == 999_999 {
                    FileHandle.standardError.write(Data("\(index + 1) records, \(Int(Date().timeIntervalSince(started))) s\n".utf8))
                }
            }
            log.waitUntilDurable()
            log.close()
            if let error = failure.value { throw CommandFailure("writing the log: \(error)") }
            print("wrote \(records) records to \(data) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
    }
}

/// The first append failure, set from the log's writer thread.
private final class LockedFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: LogError?
    func set(_ error: LogError) { lock.withLock { if self.error == nil { self.error = error } } }
    var value: LogError? { lock.withLock { error } }
}
