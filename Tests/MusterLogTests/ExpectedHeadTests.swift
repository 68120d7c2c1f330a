import Foundation
import Testing
@testable import MusterLog

/// An auditor writes down a head (`OFFSET:HASH`); later, `verify(expectHead:)` proves that the
/// log still contains exactly that history.
@Suite struct ExpectedHeadTests {
    /// A log of 120 records in small segments, with the head after its 50th record and its final head.
    private func logWithEarlierHead() throws -> (LogTestDirectory, LogOptions, LogHead, LogHead) {
        let directory = try LogTestDirectory()
        let options = LogOptions(dataDirectory: directory.path, segmentBytes: 4096)
        let log = try MessageLog.open(options)
        let first = try appendAll(log, count: 50) { "/queue/jinshan.ledger.\($0 % 2)" }
        let earlier = try #require(log.head)
        #expect(earlier == LogHead(offset: 49, chain: first[49].chain))
        _ = try appendAll(log, count: 70, first: 50) { "/queue/jinshan.ledger.\($0 % 2)" }
        let final = try #require(log.head)
        #expect(final.offset == 119)
        log.close()
        return (directory, options, earlier, final)
    }

    @Test func earlierHeadOfTheSameLogVerifiesAfterMoreAppends() throws {
        let (directory, options, earlier, final) = try logWithEarlierHead()
        defer { withExtendedLifetime(directory) {} }
        let archive = LogArchive(dataDirectory: options.dataDirectory)
        // As the auditor would type it back in.
        let written = try #require(LogHead(earlier.description))
        #expect(written == earlier)
        let verification = try archive.verify(expectHead: written)
        #expect(verification.records == 120)
        #expect(verification.head == final)
        #expect(try archive.verify(expectHead: final).head == final)
        let oldest = LogHead(offset: 0, chain: try firstChain(options))
        #expect(try archive.verify(expectHead: oldest).records == 120)
    }

    @Test func wrongHashFailsAtItsOffset() throws {
        let (directory, options, earlier, _) = try logWithEarlierHead()
        defer { withExtendedLifetime(directory) {} }
        var bytes = earlier.chain.bytes
        bytes[31] ^= 0x01
        let wrong = LogHead(offset: earlier.offset, chain: ChainHash(bytes: bytes))
        let found = expectCorruption("verify with a wrong hash") { () throws(LogError) in
            _ = try LogArchive(dataDirectory: options.dataDirectory).verify(expectHead: wrong)
        }
        #expect(found?.offset == 49)
        #expect(found?.reason.contains("not the expected \(wrong.chain.hex)") == true)
    }

    @Test func rightHashAtTheWrongOffsetFails() throws {
        let (directory, options, earlier, _) = try logWithEarlierHead()
        defer { withExtendedLifetime(directory) {} }
        let shifted = LogHead(offset: earlier.offset - 1, chain: earlier.chain)
        let found = expectCorruption("verify with a shifted head") { () throws(LogError) in
            _ = try LogArchive(dataDirectory: options.dataDirectory).verify(expectHead: shifted)
        }
        #expect(found?.offset == 48)
    }

    @Test func logTruncatedBeforeTheExpectedHeadFails() throws {
        let (directory, options, _, final) = try logWithEarlierHead()
        defer { withExtendedLifetime(directory) {} }
        // Cut the log cleanly after offset 80: whole segments go, the one holding 80 ends after it.
        for segment in try segmentFiles(options.dataDirectory) {
            if segment.baseOffset > 80 {
                try FileManager.default.removeItem(atPath: segment.path)
            } else if let end = segment.records.first(where: { $0.offset == 80 })?.end {
                try writeFile(Array(segment.bytes[..<end]), to: segment.path)
            }
        }
        let archive = LogArchive(dataDirectory: options.dataDirectory)
        // Without a head written down, a clean truncation looks like a shorter log...
        let plain = try archive.verify()
        #expect(plain.records == 81)
        #expect(plain.tornTail == nil)
        // ...with one, it is caught.
        do {
            _ = try archive.verify(expectHead: final)
            Issue.record("verify accepted a log that ends before the expected head")
        } catch {
            guard case .layout(let message) = error else {
                Issue.record("expected a layout error, got \(error)")
                return
            }
            #expect(message.contains("the log ends before offset 119"))
            #expect(message.contains("its head is 80:"))
        }
    }

    @Test func rewrittenAndRechainedLogPassesPlainVerificationButNotTheWrittenDownHead() throws {
        let (directory, options, earlier, final) = try logWithEarlierHead()
        defer { withExtendedLifetime(directory) {} }
        // A forger edits offset 10 and recomputes every CRC, chain hash and segment anchor after it.
        var previous = ChainHash.genesis
        for var segment in try segmentFiles(options.dataDirectory) {
            segment.bytes.replaceSubrange(32..<64, with: previous.bytes)
            segment.fixHeaderCRC()
            for record in segment.records {
                if record.offset == 10 {
                    #expect(segment.bytes[record.end - 1] == UInt8(ascii: "0"))
                    segment.bytes[record.end - 1] = UInt8(ascii: "1")
                }
                let chain = segment.bytes[record.position..<record.end].withUnsafeBytes {
                    RecordFormat.chainHash(of: $0, previous: previous)
                }
                segment.bytes.replaceSubrange(record.position + 32..<record.position + 64, with: chain.bytes)
                segment.fixCRC(of: record)
                previous = chain
            }
            try segment.save()
        }
        let archive = LogArchive(dataDirectory: options.dataDirectory)
        let plain = try archive.verify()
        #expect(plain.records == 120)
        #expect(plain.head?.offset == final.offset)
        #expect(plain.head != final)
        for head in [earlier, final] {
            let found = expectCorruption("verify against the head \(head)") { () throws(LogError) in
                _ = try archive.verify(expectHead: head)
            }
            #expect(found?.offset == head.offset)
        }
    }

    private func firstChain(_ options: LogOptions) throws -> ChainHash {
        let segment = try #require(try segmentFiles(options.dataDirectory).first)
        let record = try #require(segment.records.first)
        return ChainHash(bytes: Array(segment.bytes[record.position + 32..<record.position + 64]))
    }
}
