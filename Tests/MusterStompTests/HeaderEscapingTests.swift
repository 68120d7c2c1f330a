import MusterStomp
import Testing

@Suite("Header escaping")
struct HeaderEscapingTests {
    @Test func decoderUndoesAllFourEscapesInNamesAndValues() throws {
        let frame = try decodeSingle("SEND\nkey\\cwith\\\\colon:line\\none\\rtwo\\cthree\\\\four\n\n\0")

        #expect(frame.headers.entries.first?.name == "key:with\\colon")
        #expect(frame.headers.entries.first?.value == "line\none\rtwo:three\\four")
    }

    @Test func encoderEscapesBackslashLineFeedCarriageReturnAndColon() {
        let frame = StompFrame(.send, headers: ["a:b": "x\\y\nz\rw"])

        let encoded = StompFrameEncoder.encode(frame)

        #expect(encoded == bytes("SEND\na\\cb:x\\\\y\\nz\\rw\n\n\0"))
    }

    @Test(arguments: [StompCommand.connect, .connected])
    func connectAndConnectedHeadersAreSentVerbatim(_ command: StompCommand) {
        let frame = StompFrame(command, headers: ["passcode": "a\\b:c"])

        let encoded = StompFrameEncoder.encode(frame)

        #expect(encoded == bytes("\(command.rawValue)\npasscode:a\\b:c\n\n\0"))
    }

    @Test(arguments: [StompCommand.connect, .connected])
    func connectAndConnectedHeadersAreNotUnescaped(_ command: StompCommand) throws {
        // Even sequences that would be fatal elsewhere, like \t, are plain text here.
        let frame = try decodeSingle("\(command.rawValue)\nlogin:a\\nb\\tc\\cd\n\n\0")

        #expect(frame.headers["login"] == "a\\nb\\tc\\cd")
    }

    @Test func stompFrameHeadersAreEscapedLikeAnyOtherFrame() throws {
        let frame = try decodeSingle("STOMP\npasscode:a\\cb\n\n\0")

        #expect(frame.headers["passcode"] == "a:b")
        #expect(StompFrameEncoder.encode(frame) == bytes("STOMP\npasscode:a\\cb\n\n\0"))
    }

    @Test(arguments: StompCommand.allCases.filter(\.escapesHeadersForTest))
    func escapedHeadersRoundTrip(_ command: StompCommand) throws {
        let awkward = "\\:\n\r\\\\n::\r\n end\\"
        let frame = StompFrame(command, headers: [awkward: awkward, "plain": "héllo: wörld"])

        let decoded = try decodeAll(StompFrameEncoder.encode(frame))

        #expect(decoded == [frame])
    }

    @Test(arguments: ["\\t", "\\a", "\\0", "\\ ", "\\N", "\\C"])
    func undefinedEscapeIsFatal(_ sequence: String) {
        let error = decodingError(bytes("SEND\nname:before\(sequence)after\n\n\0"))

        #expect(error == .invalidEscape(sequence))
    }

    @Test func undefinedEscapeInAHeaderNameIsFatal() {
        #expect(decodingError(bytes("SEND\nna\\tme:value\n\n\0")) == .invalidEscape("\\t"))
    }

    @Test func backslashEndingAValueIsFatal() {
        #expect(decodingError(bytes("SEND\nname:value\\\n\n\0")) == .invalidEscape("\\"))
    }

    @Test func backslashEndingANameIsFatal() {
        #expect(decodingError(bytes("SEND\nname\\:value\n\n\0")) == .invalidEscape("\\"))
    }
}
