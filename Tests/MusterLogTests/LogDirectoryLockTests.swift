import Foundation
import Testing
@testable import MusterLog

/// One process at a time may change a log: a second `MessageLog.open` or a repair beside an
/// open log is refused at once, naming the holder; closing the log frees it.
@Suite struct LogDirectoryLockTests {
    @Test func aSecondOpenIsRefusedUntilTheFirstCloses() throws {
        let (directory, options) = try makeClosedLog(count: 3)
        defer { withExtendedLifetime(directory) {} }
        let first = try MessageLog.open(options)
        do {
            let second = try MessageLog.open(options)
            second.close()
            Issue.record("a second MessageLog.open of an open log was not refused")
        } catch {
            guard case .locked(let lockedDirectory, let holder) = error else {
                Issue.record("refused for another reason: \(error)")
                first.close()
                return
            }
            #expect(lockedDirectory == options.logDirectory)
            #expect(holder == getpid())
            #expect(error.description.contains("in use by process \(getpid())"), "\(error)")
        }
        first.close()
        let reopened = try MessageLog.open(options)
        #expect(reopened.nextOffset == 3)
        reopened.close()
    }

    @Test func aRepairBesideAnOpenLogCutsNothing() throws {
        let (directory, options) = try makeClosedLog(count: 3)
        defer { withExtendedLifetime(directory) {} }
        let log = try MessageLog.open(options)
        #expect(throws: LogError.self) {
            try LogRepair(dataDirectory: options.dataDirectory).truncate(from: 0, force: true)
        }
        #expect(log.nextOffset == 3)
        log.close()
        let outcome = try LogRepair(dataDirectory: options.dataDirectory).truncate(from: 2, force: true)
        #expect(outcome.records == 2)
    }
}
