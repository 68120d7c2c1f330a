import MusterStomp
import Testing

/// Long header names a connection repeats are decoded once and shared; names that differ, or
/// that carry escapes, are still read exactly as sent.
@Suite("header names kept by a connection's decoder")
struct HeaderNamesTests {
    static func storage(_ name: String) -> UnsafePointer<UInt8>? {
        var copy = name
        return copy.withUTF8 { $0.baseAddress }
    }

    @Test func aLongNameRepeatedInTheNextFrameIsTheSameStringNotAnotherCopy() throws {
        let frames = try decodeAll(bytes("SEND\nmuster-sender-jurisdiction:jinshan\n\n\0SEND\nmuster-sender-jurisdiction:pinghu\n\n\0"))
        let names = frames.map { $0.headers.entries[0].name }
        #expect(names == ["muster-sender-jurisdiction", "muster-sender-jurisdiction"])
        #expect(Self.storage(names[0]) == Self.storage(names[1]), "the second frame's name shares the first's storage")
        #expect(frames.map { $0.headers["muster-sender-jurisdiction"] } == ["jinshan", "pinghu"])
    }

    @Test func namesOfTheSameLengthThatDifferAreNotConfused() throws {
        let frames = try decodeAll(bytes("SEND\nmuster-origin-hash:a\nmuster-origin-time:b\n\n\0SEND\nmuster-origin-time:c\nmuster-origin-hash:d\n\n\0"))
        #expect(frames[1].headers.entries.map(\.name) == ["muster-origin-time", "muster-origin-hash"])
        #expect(frames[1].headers["muster-origin-hash"] == "d" && frames[1].headers["muster-origin-time"] == "c")
    }

    @Test func anEscapedLongNameIsUnescapedEveryTime() throws {
        let frames = try decodeAll(bytes("SEND\nx-application\\cheader-name:1\n\n\0SEND\nx-application\\cheader-name:2\n\n\0"))
        #expect(frames.map { $0.headers.entries[0].name } == ["x-application:header-name", "x-application:header-name"])
    }

    @Test func aLongNameSentVerbatimInConnectIsStillUnescapedInTheFramesAfterIt() throws {
        // CONNECT's headers are not unescaped, a SEND's are: the same bytes read differently.
        let frames = try decodeAll(bytes("CONNECT\naccept-version:1.2\nx-application\\cheader-name:1\n\n\0SEND\nx-application\\cheader-name:2\n\n\0"))
        #expect(frames.map { $0.headers.entries.last?.name } == ["x-application\\cheader-name", "x-application:header-name"])
        #expect(throws: StompFrameError.self) {
            try decodeAll(bytes("CONNECT\naccept-version:1.2\nx-long-header-nam\\q:1\n\n\0SEND\nx-long-header-nam\\q:2\n\n\0"))
        }
    }

    @Test func aVeryLongNameIsReadRightButNotKept() throws {
        let name = "x-" + String(repeating: "n", count: 70)
        let frames = try decodeAll(bytes("SEND\n\(name):1\n\n\0SEND\n\(name):2\n\n\0"))
        #expect(frames.map { $0.headers[name] } == ["1", "2"])
        #expect(Self.storage(frames[0].headers.entries[0].name) != Self.storage(frames[1].headers.entries[0].name),
                "a connection does not pin names of any length")
    }

    @Test func aConnectionSendingManyDistinctLongNamesStillGetsEachRight() throws {
        let count = 200
        var text = ""
        for round in 0..<2 {
            for index in 0..<count { text += "SEND\nx-long-header-name-\(index):\(round)\n\n\0" }
        }
        let frames = try decodeAll(bytes(text))
        #expect(frames.count == 2 * count)
        for (position, frame) in frames.enumerated() {
            #expect(frame.headers["x-long-header-name-\(position % count)"] == "\(position / count)")
        }
    }
}

@Suite("a fixed set of header names")
struct HeaderNameSetTests {
    @Test func itHoldsExactlyItsNamesWhateverTheirLength() {
        let set = HeaderNameSet(["ack", "destination", "muster-sender-jurisdiction", "message-id"])
        for name in ["ack", "destination", "muster-sender-jurisdiction", "message-id"] { #expect(set.contains(name), "\(name)") }
        for name in ["", "ac", "acK", "destinatioN", "muster-sender-jurisdictions", "message-ie", String(repeating: "x", count: 300)] {
            #expect(!set.contains(name), "\(name)")
        }
        #expect(!HeaderNameSet([]).contains("ack"))
    }
}
