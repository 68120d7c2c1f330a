import MusterStomp
import Testing

@Suite("Frame errors")
struct FrameErrorTests {
    @Test(arguments: ["FOO", "send", "SEND ", "CONNECTING"])
    func unknownCommandIsRefused(_ command: String) {
        #expect(decodingError(bytes("\(command)\n\n\0")) == .unknownCommand(command))
    }

    @Test func commandLineLongerThanAnyCommandIsRefusedBeforeItEnds() {
        // A client speaking HTTP to the STOMP port: refused after 12 bytes, not at the end of the line.
        let refusal = feedUntilRefused(bytes("GET / HTTP/1.1").map { [$0] })

        #expect(refusal == Refusal(error: .unknownCommand("GET / HTTP/1"), bytesFed: 13))
    }

    @Test func commandThatIsNotUTF8IsRefused() {
        #expect(decodingError([0xC3, 0x28, 0x0A, 0x0A, 0x00]) == .invalidUTF8)
    }

    @Test(arguments: [[0x6E, 0xFF, 0x3A, 0x76], [0x6E, 0x3A, 0xC0, 0xAF]] as [[UInt8]])
    func headerThatIsNotUTF8IsRefused(_ line: [UInt8]) {
        #expect(decodingError(bytes("SEND\n") + line + bytes("\n\n\0")) == .invalidUTF8)
    }

    @Test func headerLineWithoutColonIsMalformed() {
        #expect(decodingError(bytes("SEND\nno colon here\n\n\0")) == .malformedHeader("no colon here"))
    }

    @Test func headerWithEmptyNameIsMalformed() {
        #expect(decodingError(bytes("SEND\n:value\n\n\0")) == .malformedHeader(":value"))
    }

    @Test(arguments: ["-1", "abc", "", "+5", " 5", "5 ", "1.5", "0x10", "٣"])
    func contentLengthMustBeANonNegativeDecimalInteger(_ value: String) {
        let error = decodingError(bytes("SEND\ncontent-length:\(value)\n\n\0"))

        #expect(error == .invalidContentLength(value))
    }

    @Test func contentLengthBodyMustBeFollowedByNul() {
        #expect(decodingError(bytes("SEND\ncontent-length:2\n\nabc\0")) == .missingNullTerminator)
    }

    @Test func errorPoisonsTheDecoderForGood() throws {
        var decoder = StompFrameDecoder()
        decoder.append(bytes("FOO\n\n\0"))
        #expect(throws: StompFrameError.unknownCommand("FOO")) { try decoder.next() }

        decoder.append(bytes("SEND\n\nvalid\0"))

        #expect(throws: StompFrameError.unknownCommand("FOO")) { try decoder.next() }
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func framesBeforeTheErrorAreStillDelivered() throws {
        var decoder = StompFrameDecoder()
        decoder.append(bytes("SEND\n\nfirst\0FOO\n\n\0"))

        #expect(try decoder.next()?.bodyText == "first")
        #expect(throws: StompFrameError.unknownCommand("FOO")) { try decoder.next() }
    }

    @Test func bodyLimitDescriptionSaysWhatWasWrongAndWhatToDo() {
        let error = StompFrameError.bodyTooLarge(limit: 4_194_304)

        #expect(error.description
            == "frame body exceeds the 4194304-byte limit; send smaller messages or raise limits.max-body-bytes")
    }

    @Test(arguments: [
        (StompFrameError.frameTooLarge(limit: 11), "limits.max-frame-bytes"),
        (.tooManyHeaders(limit: 12), "limits.max-header-count"),
        (.headerTooLarge(limit: 13), "limits.max-header-bytes"),
        (.bodyTooLarge(limit: 14), "limits.max-body-bytes"),
    ])
    func limitDescriptionsNameTheLimitAndTheSettingToRaise(error: StompFrameError, setting: String) {
        let limit = switch error {
        case .frameTooLarge(let limit), .tooManyHeaders(let limit), .headerTooLarge(let limit),
             .bodyTooLarge(let limit): limit
        default: -1
        }

        #expect(error.description.contains("\(limit)"))
        #expect(error.description.contains(setting))
    }

    @Test(arguments: [
        StompFrameError.unknownCommand("FOO"), .malformedHeader("x"), .invalidEscape("\\t"), .invalidUTF8,
        .frameTooLarge(limit: 1), .tooManyHeaders(limit: 1), .headerTooLarge(limit: 1), .bodyTooLarge(limit: 1),
        .invalidContentLength("-1"), .missingNullTerminator,
    ])
    func everyDescriptionIsOneLineSayingWhatWasWrongThenWhatToDo(_ error: StompFrameError) {
        let parts = error.description.split(separator: "; ")

        #expect(parts.count == 2)
        #expect(!error.description.contains("\n"))
    }

    @Test func shortPeerTextInDescriptionsIsQuotedAndEscaped() {
        let error = StompFrameError.invalidContentLength("1\r\n2")

        #expect(error.description.hasPrefix(#"content-length "1\r\n2" is not"#))
    }

    @Test func longPeerTextInDescriptionsIsEscapedAndShortened() {
        let error = StompFrameError.malformedHeader("evil\nINFO forged log line" + String(repeating: "x", count: 500))

        #expect(!error.description.contains("\n"))
        #expect(error.description.contains("evil\\nINFO"))
        #expect(error.description.count < 200)
    }
}
