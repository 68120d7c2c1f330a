import Foundation
import MusterBroker
import MusterLog
import MusterServer
import MusterStomp
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterProtocol

/// What `MessageStore` promises (Sources/MusterBroker/MessageStore.swift), checked on every
/// store the broker can run on: the in-memory one, the durable log, and the log read back
/// from disk after a reopen (no message left in the log store's memory).
@Suite("the MessageStore contract")
struct MessageStoreContractTests {
    static let patrol = Destination(kind: .topic, name: "jinshan.patrol")
    static let complaints = Destination(kind: .queue, name: "complaints")
    static let notices = Destination(kind: .topic, name: "notices")
    static let town = PartyIdentity(jurisdiction: "jinshan", party: "langxia-town")
    static let grid = PartyIdentity(jurisdiction: "jinshan", party: "shanta-village-grid")

    @Test(arguments: StoreUnderTest.allCases)
    func appendsGetIncreasingOffsetsAndCompleteInOffsetOrder(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        let before = rig.store.nextOffset
        let completed = CompletionOrder()
        let store = rig.store
        // Four publishers at once: the store orders them, and tells of them in that order.
        await withTaskGroup(of: Void.self) { group in
            for publisher in 0..<4 {
                group.addTask {
                    await runBlocking {
                        for sequence in 0..<25 {
                            store.append(Self.publication(Self.patrol, "publisher \(publisher) message \(sequence)")) { result in
                                if case .success(let stored) = result { completed.note(stored.offset) }
                            }
                        }
                    }
                }
            }
        }
        try await eventually("all 100 completions") { completed.offsets.count == 100 }
        let offsets = completed.offsets
        #expect(offsets == offsets.sorted(), "completions come in offset order")
        #expect(Set(offsets).count == 100, "every message has an offset of its own")
        #expect(offsets.allSatisfy { $0 >= before })
        #expect(store.nextOffset > offsets.max() ?? 0, "the next offset is past every stored one")
    }

    @Test(arguments: StoreUnderTest.allCases)
    func aStoredMessageReadsBackAsItWasPublished(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        var headers: StompHeaders = ["content-type": "application/octet-stream", "x-case": "LX-2026-0612-03"]
        headers.append("x-note", "first")
        headers.append("x-note", "second")
        let body: [UInt8] = [0x00, 0xFF, 0x0A] + Array("三号闸门 sluice gate 3".utf8) + [0x00]
        let sent = Publication(destination: Self.complaints, headers: headers, body: body, sender: Self.grid)
        let stored = try await Self.append(sent, to: rig.store)
        #expect(stored.destination == Self.complaints && stored.publication.body == body && stored.publication.sender == Self.grid)

        let reader = try rig.reader()
        let read = try reader.read(Self.complaints, from: stored.offset, limit: 10).messages
        let message = try #require(read.first, "the message reads back")
        #expect(read.count == 1)
        #expect(message.offset == stored.offset && message.messageID == "m-\(stored.offset)")
        #expect(message.destination == Self.complaints)
        #expect(message.publication.body == body, "the body, byte for byte")
        #expect(message.publication.sender == Self.grid)
        #expect(Array(message.publication.headers) .map { "\($0.0):\($0.1)" } == Array(headers).map { "\($0.0):\($0.1)" },
                "every header, repeated ones included, in order")
        #expect(message.timestamp == stored.timestamp && message.timestamp > 0)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func aReadReturnsOnlyItsDestinationInOffsetOrderAndPagesWithoutGapsOrRepeats(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        var expected: [Destination: [UInt64]] = [:]
        for index in 0..<30 {
            let destination = [Self.patrol, Self.complaints, Self.notices][index % 3 == 2 ? 2 : (index % 5 == 0 ? 1 : 0)]
            let stored = try await Self.append(Self.publication(destination, "message \(index)"), to: rig.store)
            expected[destination, default: []].append(stored.offset)
        }
        let reader = try rig.reader()
        for destination in [Self.patrol, Self.complaints, Self.notices] {
            let all = try reader.read(destination, from: 0, limit: 1000)
            #expect(all.messages.map(\.offset) == expected[destination], "\(destination): its own messages, in offset order")
            #expect(all.messages.allSatisfy { $0.destination == destination })

            // Paging: each read goes on from where the previous one reached.
            var paged: [UInt64] = []
            var from: UInt64 = 0
            var reads = 0
            while from < reader.nextOffset, reads < 100 {
                let page = try reader.read(destination, from: from, limit: 2)
                #expect(page.messages.count <= 2, "at most the limit")
                #expect(page.scannedTo > from, "a read at \(from), below the head, gets somewhere")
                #expect(page.messages.allSatisfy { $0.offset >= from && $0.offset < page.scannedTo }, "what it returns lies below how far it reached")
                paged += page.messages.map(\.offset)
                from = page.scannedTo
                reads += 1
            }
            #expect(paged == expected[destination], "\(destination): paged, every message once and in order")
        }
        let atHead = try reader.read(Self.patrol, from: reader.nextOffset, limit: 10)
        #expect(atHead.messages.isEmpty && atHead.scannedTo == reader.nextOffset, "nothing at the head: \(atHead.scannedTo)")
    }

    @Test(arguments: StoreUnderTest.allCases)
    func aReadByOffsetsReturnsTheMessagesItHoldsOfThatDestination(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        let first = try await Self.append(Self.publication(Self.patrol, "first"), to: rig.store)
        let other = try await Self.append(Self.publication(Self.notices, "elsewhere"), to: rig.store)
        let third = try await Self.append(Self.publication(Self.patrol, "third"), to: rig.store)
        let reader = try rig.reader()
        let read = try reader.read(Self.patrol, offsets: [third.offset, other.offset, first.offset, reader.nextOffset + 5])
        #expect(read.map(\.offset) == [third.offset, first.offset], "the asked offsets, in the order asked, of this destination only")
        #expect(read.map(\.publication.body) == [Array("third".utf8), Array("first".utf8)])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func deliveryEventsAreRecordedButAreNoMessages(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        let message = try await Self.append(Self.publication(Self.complaints, "leaking pipe"), to: rig.store)
        let before = rig.store.nextOffset
        let event = LedgerEvent(kind: .delivered, consumer: .queue(Self.complaints), generation: 1, destination: Self.complaints,
                                offset: message.offset, party: Self.town, subscriptionID: "s-1", deliveryCount: 1,
                                deliveredAt: 1_000, at: 1_000)
        let outcome = Mutex<(completed: Bool, error: String?)>((false, nil))
        rig.store.record([event, event]) { error in outcome.withLock { $0 = (true, error.map { "\($0)" }) } }
        try await eventually("the record's completion") { outcome.withLock { $0.completed } }
        #expect(outcome.withLock { $0.error } == nil, "recorded without an error")
        let nothing = Mutex<(completed: Bool, error: String?)>((false, nil))
        rig.store.record([]) { error in nothing.withLock { $0 = (true, error.map { "\($0)" }) } }
        #expect(nothing.withLock { $0.completed && $0.error == nil }, "recording nothing completes at once")
        #expect(rig.store.nextOffset >= before, "offsets never go back")
        let next = try await Self.append(Self.publication(Self.complaints, "after the events"), to: rig.store)
        #expect(next.offset > message.offset)
        let read = try rig.reader().read(Self.complaints, from: 0, limit: 10).messages
        #expect(read.map(\.publication.body) == [Array("leaking pipe".utf8), Array("after the events".utf8)], "events are not read as messages")
    }

    @Test(arguments: StoreUnderTest.allCases)
    func observersHearOfNewMessages(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        let heard = Atomic<Int>(0)
        rig.store.observeAppends { heard.add(1, ordering: .relaxed) }
        _ = try await Self.append(Self.publication(Self.notices, "road closed"), to: rig.store)
        try await eventually("the observer to hear of the message") { heard.load(ordering: .relaxed) >= 1 }
    }

    @Test(arguments: StoreUnderTest.allCases)
    func aDeferredAppendIsStoredOnceCommittedAndIsDurableAfterTheWait(_ kind: StoreUnderTest) async throws {
        let rig = try StoreRig(kind)
        defer { rig.close() }
        let stored = Mutex<StoredMessage?>(nil)
        rig.store.append(Self.publication(Self.patrol, "deferred"), deferCommit: true) { result in
            if case .success(let message) = result { stored.withLock { $0 = message } }
        }
        rig.store.commitPending()
        try await eventually("the deferred append's completion") { stored.withLock { $0 } != nil }
        let message = try #require(stored.withLock { $0 })
        rig.store.waitUntilDurable()
        #expect(try rig.reader().read(Self.patrol, offsets: [message.offset]).map(\.publication.body) == [Array("deferred".utf8)])
    }

    // MARK: Helpers

    static func publication(_ destination: Destination, _ text: String) -> Publication {
        Publication(destination: destination, headers: ["content-type": "text/plain"], body: Array(text.utf8), sender: town)
    }

    /// Appends and waits for the completion (the log's comes from its writer thread).
    static func append(_ publication: Publication, to store: any MessageStore) async throws -> StoredMessage {
        try await withCheckedThrowingContinuation { continuation in
            store.append(publication) { continuation.resume(with: $0.mapError { $0 as any Error }) }
        }
    }
}

/// The offsets of completions, in the order they came.
final class CompletionOrder: Sendable {
    private let seen = Mutex<[UInt64]>([])
    func note(_ offset: UInt64) { seen.withLock { $0.append(offset) } }
    var offsets: [UInt64] { seen.withLock { $0 } }
}

/// The stores under test.
enum StoreUnderTest: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory = "InMemoryMessageStore"
    case log = "LogMessageStore"
    case logReadBack = "LogMessageStore, read back from disk"

    var testDescription: String { rawValue }
}

/// One store under test, and where its messages are read back.
final class StoreRig: @unchecked Sendable {
    let kind: StoreUnderTest
    let store: any MessageStore
    private let directory: TemporaryDirectory?
    private var log: MessageLog?
    private var reopened: MessageLog?

    init(_ kind: StoreUnderTest) throws {
        self.kind = kind
        switch kind {
        case .inMemory:
            directory = nil
            store = InMemoryMessageStore()
        case .log, .logReadBack:
            let directory = try TemporaryDirectory(prefix: "muster-store-contract")
            self.directory = directory
            let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
            self.log = log
            store = LogMessageStore(log: log)
        }
    }

    /// The store to read from: the same one, or (read back) a new store on the log reopened.
    func reader() throws -> any MessageStore {
        guard kind == .logReadBack, let directory else { return store }
        store.waitUntilDurable()
        log?.close()
        log = nil
        reopened?.close()
        let log = try MessageLog.open(LogOptions(dataDirectory: directory.path))
        reopened = log
        return LogMessageStore(log: log)
    }

    func close() {
        log?.close()
        reopened?.close()
        directory?.remove()
    }
}
