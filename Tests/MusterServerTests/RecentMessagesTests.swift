import Testing
@testable import MusterServer
import MusterBroker
import MusterProtocol

/// The in-memory cache of the newest messages holds at most its byte limit of bodies.
@Suite("Recent messages")
struct RecentMessagesTests {
    static let notices = Destination(kind: .topic, name: "notices")

    static func message(_ offset: UInt64, bytes: Int) -> StoredMessage {
        StoredMessage(offset: offset, timestamp: 0, publication: Publication(
            destination: notices, headers: [:], body: [UInt8](repeating: 7, count: bytes),
            sender: PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")))
    }

    /// 250 bodies of 64 KiB through a 1 MiB cache: what was evicted is freed at once, not kept
    /// until a batch of evictions is compacted.
    @Test func evictedBodiesAreReleasedAtOnce() {
        let limit = 1 << 20
        let recent = RecentMessages(from: 0, byteLimit: limit)
        for offset in 0..<250 {
            recent.add(Self.message(UInt64(offset), bytes: 64 << 10))
            #expect(recent.heldBodyBytes <= limit, "after \(offset + 1) messages the cache holds \(recent.heldBodyBytes) bytes")
        }
    }

    /// A message costs its body and what is kept with it: the entry, and the MESSAGE headers a
    /// delivery encodes (`StoredMessage.sharedHeaders`), which grow with its own headers.
    @Test func aMessageCostsItsBodyAndTheHeadersEncodedForItsDeliveries() {
        let bare = Self.message(0, bytes: 1 << 10)
        let headed = StoredMessage(offset: 0, timestamp: 0, publication: Publication(
            destination: Self.notices, headers: ["muster-type": "notice", "note": String(repeating: "x", count: 300)],
            body: bare.publication.body, sender: bare.publication.sender))
        #expect(RecentMessages.cost(of: bare) >= (1 << 10) + bare.sharedHeaders.bytes.count)
        #expect(RecentMessages.cost(of: headed) >= (1 << 10) + headed.sharedHeaders.bytes.count)
        #expect(RecentMessages.cost(of: headed) > RecentMessages.cost(of: bare) + 300)
    }

    @Test func keptMessagesAreReadFromMemoryAndEvictedOnesFromTheLog() throws {
        let recent = RecentMessages(from: 0, byteLimit: 4 * RecentMessages.cost(of: Self.message(0, bytes: 1 << 10)))
        for offset in 0..<10 { recent.add(Self.message(UInt64(offset), bytes: 1 << 10)) }
        #expect(recent.read(Self.notices, from: 5, limit: 100) == nil, "offset 5 was evicted: read the log")
        let kept = try #require(recent.read(Self.notices, from: 6, limit: 100))
        #expect(kept.messages.map(\.offset) == [6, 7, 8, 9])
        #expect(kept.scannedTo == 10)
        #expect(recent.message(at: 8)??.offset == 8)
        #expect(recent.message(at: 3) == nil)
    }

    /// A quiet broker lets the whole cache go: reads of what it held go to the log, and what is
    /// stored afterwards is kept again.
    @Test func releasingTheCacheSendsReadsToTheLogAndKeepsWhatComesAfter() throws {
        let recent = RecentMessages(from: 0, byteLimit: 1 << 20)
        for offset in 0..<10 { recent.add(Self.message(UInt64(offset), bytes: 1 << 10)) }
        recent.release()
        #expect(recent.heldBodyBytes == 0)
        #expect(recent.read(Self.notices, from: 9, limit: 100) == nil, "released: read the log")
        #expect(recent.message(at: 9) == nil)
        let nothingYet = try #require(recent.read(Self.notices, from: 10, limit: 100), "from the head on, the cache answers")
        #expect(nothingYet.messages.isEmpty && nothingYet.scannedTo == 10)
        recent.add(Self.message(10, bytes: 1 << 10))
        #expect(try #require(recent.read(Self.notices, from: 10, limit: 100)).messages.map(\.offset) == [10])
    }
}
