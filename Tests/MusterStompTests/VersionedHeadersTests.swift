import MusterStomp
import Testing

/// STOMP 1.0 and 1.1 escape headers differently from 1.2 (or not at all).
@Suite("Headers of STOMP 1.0 and 1.1")
struct VersionedHeadersTests {
    private func decode(_ text: String, as version: StompVersion) throws(StompFrameError) -> StompFrame? {
        var decoder = StompFrameDecoder()
        decoder.version = version
        decoder.append(bytes(text))
        return try decoder.next()
    }

    @Test func negotiatesTheHighestVersionBothSpeak() {
        #expect(StompVersion.negotiate(acceptVersion: nil) == .v1_0)
        #expect(StompVersion.negotiate(acceptVersion: "1.0") == .v1_0)
        #expect(StompVersion.negotiate(acceptVersion: "1.0,1.1") == .v1_1)
        #expect(StompVersion.negotiate(acceptVersion: "1.1, 1.2") == .v1_2)
        #expect(StompVersion.negotiate(acceptVersion: "1.2,1.0") == .v1_2)
        #expect(StompVersion.negotiate(acceptVersion: "2.0") == nil)
        #expect(StompVersion.spoken == "1.0,1.1,1.2")
    }

    @Test func stomp10DecodesBackslashesAndColonsAsThemselves() throws {
        let frame = try #require(try decode("SEND\nselector:a\\nb\\tc:d\n\n\0", as: .v1_0))

        #expect(frame.headers["selector"] == "a\\nb\\tc:d")
    }

    @Test func stomp11UndoesItsThreeEscapes() throws {
        let frame = try #require(try decode("SEND\nk\\cey:a\\nb\\cc\\\\d\n\n\0", as: .v1_1))

        #expect(frame.headers["k:ey"] == "a\nb:c\\d")
    }

    @Test func stomp11HasNoCarriageReturnEscape() {
        #expect(throws: StompFrameError.invalidEscape("\\r")) { try decode("SEND\nk:a\\rb\n\n\0", as: .v1_1) }
    }

    @Test func connectIsVerbatimInEveryVersion() throws {
        for version in StompVersion.allCases {
            let frame = try #require(try decode("CONNECT\nlogin:a\\nb\n\n\0", as: version))
            #expect(frame.headers["login"] == "a\\nb")
            #expect(StompFrameEncoder.encode(StompFrame(.connected, headers: ["server": "a\\b:c"]), version: version)
                    == bytes("CONNECTED\nserver:a\\b:c\n\n\0"))
        }
    }

    @Test func stomp10WritesBackslashesAndColonsAsTheyAreAndLineBreaksAsSpaces() {
        let frame = StompFrame(.message, headers: ["path": "C:\\tmp", "note": "two\nlines\r", "bad:name": "left out", "x": "1"])

        #expect(StompFrameEncoder.encode(frame, version: .v1_0) == bytes("MESSAGE\npath:C:\\tmp\nnote:two lines \nx:1\n\n\0"))
    }

    @Test func stomp11EscapesAllButCarriageReturnWhichBecomesASpace() {
        let frame = StompFrame(.message, headers: ["a:b": "x\\y\nz\rw"])

        #expect(StompFrameEncoder.encode(frame, version: .v1_1) == bytes("MESSAGE\na\\cb:x\\\\y\\nz w\n\n\0"))
    }

    @Test(arguments: [StompVersion.v1_0, .v1_1])
    func whatAVersionCanWriteRoundTrips(_ version: StompVersion) throws {
        let value = version == .v1_0 ? "a:b\\c" : "a:b\\c\nd"
        let frame = StompFrame(.message, headers: ["k": value], body: Array("hi".utf8))

        let encoded = StompFrameEncoder.encode(frame, version: version)
        var decoder = StompFrameDecoder()
        decoder.version = version
        decoder.append(encoded)

        #expect(try decoder.next()?.headers["k"] == value)
    }
}
