import MusterStomp
import Testing

@Suite("Frame encoder")
struct FrameEncoderTests {
    @Test func writesCommandHeadersBlankLineBodyAndNul() {
        let frame = StompFrame(.subscribe, headers: ["id": "0", "destination": "/queue/a"])

        #expect(StompFrameEncoder.encode(frame) == bytes("SUBSCRIBE\nid:0\ndestination:/queue/a\n\n\0"))
    }

    @Test func keepsRepeatedHeadersInOrder() {
        var headers = StompHeaders()
        headers.append("foo", "first")
        headers.append("foo", "second")

        let encoded = StompFrameEncoder.encode(StompFrame(.message, headers: headers))

        #expect(encoded == bytes("MESSAGE\nfoo:first\nfoo:second\n\n\0"))
    }

    @Test func addsContentLengthForANonEmptyBody() {
        let frame = StompFrame(.send, headers: ["destination": "/queue/a"], text: "hi\0there")

        #expect(StompFrameEncoder.encode(frame) == bytes("SEND\ndestination:/queue/a\ncontent-length:8\n\nhi\0there\0"))
    }

    @Test func omitsContentLengthForAnEmptyBody() {
        #expect(StompFrameEncoder.encode(StompFrame(.disconnect)) == bytes("DISCONNECT\n\n\0"))
    }

    @Test func keepsAContentLengthTheCallerSet() {
        let frame = StompFrame(.send, headers: ["content-length": "3"], text: "abc")

        #expect(StompFrameEncoder.encode(frame) == bytes("SEND\ncontent-length:3\n\nabc\0"))
    }

    @Test func encodingIntoABufferAppendsAfterItsContents() {
        var buffer = bytes("SEND\n\nfirst\0")

        StompFrameEncoder.encode(StompFrame(.ack, headers: ["id": "1"]), into: &buffer)

        #expect(buffer == bytes("SEND\n\nfirst\0ACK\nid:1\n\n\0"))
    }

    @Test func heartbeatIsASingleLineFeed() {
        #expect(StompFrameEncoder.heartbeat == [0x0A])
    }

    @Test(arguments: StompCommand.allCases)
    func everyCommandRoundTripsWithABodyContainingNul(_ command: StompCommand) throws {
        let frame = StompFrame(command, headers: ["receipt-id": "77", "x": "y"], body: [0, 1, 0, 0xFF])

        let decoded = try decodeAll(StompFrameEncoder.encode(frame))

        #expect(decoded == [asReceived(frame)])
        #expect(decoded.first?.headers["content-length"] == "4")
    }

    @Test(arguments: StompCommand.allCases)
    func everyCommandRoundTripsWithoutABody(_ command: StompCommand) throws {
        let frame = StompFrame(command, headers: ["id": "sub-1"])

        #expect(try decodeAll(StompFrameEncoder.encode(frame)) == [frame])
    }

    @Test func textBodyIsUTF8() {
        let frame = StompFrame(.send, text: "€")

        #expect(frame.body == [0xE2, 0x82, 0xAC])
        #expect(frame.bodyText == "€")
    }

    @Test func bodyTextReplacesInvalidUTF8InsteadOfFailing() {
        let frame = StompFrame(.message, body: [0x61, 0xFF, 0x62])

        #expect(frame.bodyText == "a\u{FFFD}b")
    }
}
