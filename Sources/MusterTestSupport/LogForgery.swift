import Dispatch
import Foundation
public import MusterLog
import Synchronization

/// What a forger with write access to a broker's data directory can do: write the log again
/// from its own records, changed as `rewrite` says (each record becomes the entries it returns:
/// none to delete it, an edited one, or more to insert), every CRC, chain hash and segment
/// anchor recomputed. The result verifies on its own; only evidence held elsewhere (a peer's
/// copies, a signed checkpoint) shows the change. The broker must be stopped.
public enum LogForgery {
    public static func rewrite(dataDirectory: String, _ rewrite: (LogRecord) -> [LogEntry]) throws {
        var records: [LogRecord] = []
        try LogArchive(dataDirectory: dataDirectory).forEach { records.append($0); return true }
        let logDirectory = LogOptions.logDirectory(in: dataDirectory)
        try FileManager.default.removeItem(atPath: logDirectory)
        let log = try MessageLog.open(LogOptions(dataDirectory: dataDirectory))
        defer { log.close() }
        let entries = records.flatMap(rewrite)
        let failures = Mutex<[LogError]>([])
        let done = DispatchSemaphore(value: 0)
        for entry in entries {
            log.append(entry) { result in
                if case .failure(let error) = result { failures.withLock { $0.append(error) } }
                done.signal()
            }
        }
        for _ in entries { done.wait() }
        if let failure = failures.withLock({ $0.first }) { throw failure }
    }
}
