import Foundation
import Testing
@testable import MusterLog

/// The active segment is preallocated ahead of the writer (so a durable append changes no file
/// size); sealed segments and a closed log end exactly at their last record.
@Suite struct PreallocationTests {
    private func sizes(_ options: LogOptions) throws -> [Int] {
        try segmentFiles(options.dataDirectory).map(\.bytes.count)
    }

    @Test func theActiveSegmentIsPreallocatedWhileTheLogIsOpen() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 5) { _ in "/queue/complaints" }
        let written = try #require(try segmentFiles(options.dataDirectory).last?.records.last?.end)
        #expect(try sizes(options) == [1 << 20], "preallocated to the segment size, \(written) bytes written")
        log.close()
        #expect(try sizes(options) == [written], "a closed log gives the space back")
    }

    @Test func sealedSegmentsEndAtTheirLastRecord() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 80) { _ in "/queue/complaints" }
        let files = try segmentFiles(options.dataDirectory)
        #expect(files.count > 2)
        for file in files.dropLast() {
            #expect(file.bytes.count == file.records.last?.end, "\(file.name) holds no preallocated tail")
        }
        #expect(files.last!.bytes.count == 4096)
        log.close()
        #expect(try LogArchive(dataDirectory: options.dataDirectory).verify().records == 80)
    }

    @Test func aLogThatWasNotClosedReopensAfterItsPreallocatedSpace() throws {
        let directory = try LogTestDirectory()
        defer { withExtendedLifetime(directory) {} }
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 1 << 20)
        let log = try MessageLog.open(options)
        _ = try appendAll(log, count: 7) { _ in "/queue/complaints" }
        // A copy of the files as a crash would leave them: the zeros are still there.
        let copy = try LogTestDirectory()
        defer { withExtendedLifetime(copy) {} }
        try FileManager.default.removeItem(atPath: copy.path)
        try FileManager.default.copyItem(atPath: directory.path, toPath: copy.path)
        log.close()
        let crashed = LogOptions(dataDirectory: copy.path, segmentBytes: 1 << 20)
        let reopened = try MessageLog.open(crashed)
        #expect(reopened.recovery.truncated == nil)
        #expect(reopened.nextOffset == 7)
        let more = try appendAll(reopened, count: 2, first: 7) { _ in "/queue/complaints" }
        #expect(more.map(\.offset) == [7, 8])
        reopened.close()
        #expect(try LogArchive(dataDirectory: copy.path).verify().records == 9)
    }
}
