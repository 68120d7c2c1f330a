import Dispatch
import Synchronization
import Testing
@testable import MusterLog

@Suite struct FsyncPolicyTests {
    @Test func policiesParseFromConfigurationText() {
        #expect(FsyncPolicy("always") == .always)
        #expect(FsyncPolicy("  always\n") == .always)
        #expect(FsyncPolicy("interval(200)") == .interval(milliseconds: 200))
        #expect(FsyncPolicy(" interval(1) ") == .interval(milliseconds: 1))
        for policy in [FsyncPolicy.always, .interval(milliseconds: 250)] {
            #expect(FsyncPolicy(policy.description) == policy)
        }
    }

    @Test(arguments: ["", "never", "Always", "interval", "interval()", "interval(0)", "interval(-5)", "interval(abc)",
                      "interval(200", "interval 200", "interval(200)ms", "interval(1.5)", "interval( 200)"])
    func badPolicyTextIsRefused(_ text: String) {
        #expect(FsyncPolicy(text) == nil)
    }

    @Test func intervalAppendsCompleteAreReadableAndSurviveReopening() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        var options = LogOptions(dataDirectory: directory.path, segmentBytes: 8192)
        options.fsync = .interval(milliseconds: 20)
        let log = try MessageLog.open(options)
        let appended = try appendAll(log, count: 300) { "/topic/jinshan.tide.\($0 % 2)" }
        #expect(appended.map(\.offset) == Array(0..<300))
        #expect(try readAll(log.cursor(from: 0)).map(\.offset) == Array(0..<300))
        let more = try appendAll(log, count: 10, first: 300) { _ in "/topic/jinshan.tide.0" }
        #expect(more.map(\.offset) == Array(300..<310))
        log.close()

        let reopened = try MessageLog.open(options)
        #expect(reopened.recovery.records == 310)
        #expect(reopened.recovery.truncated == nil)
        reopened.close()
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == 310)
    }

    @Test func intervalAppendsDoNotWaitForTheNextSync() throws {
        // With a sync at most once an hour, appends still complete: they wait for the write, not the sync.
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        var options = LogOptions(dataDirectory: directory.path)
        options.fsync = .interval(milliseconds: 3_600_000)
        let log = try MessageLog.open(options)
        let done = DispatchSemaphore(value: 0)
        let offsets = Mutex<[UInt64]>([])
        for index in 0..<20 {
            log.append(LogEntry(destination: "/topic/t", headers: [], body: Array("report-in \(index)".utf8))) { result in
                if case .success(let record) = result { offsets.withLock { $0.append(record.offset) } }
                done.signal()
            }
        }
        for _ in 0..<20 {
            guard done.wait(timeout: .now() + 10) == .success else {
                Issue.record("appends under interval(3600000) did not complete")
                break
            }
        }
        #expect(offsets.withLock { $0 } == Array(0..<20))
        // Closing syncs what is unsynced and returns.
        log.close()
        #expect(try LogArchive(dataDirectory: directory.path).verify().records == 20)
    }
}
