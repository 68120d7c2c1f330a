@testable import MusterStomp
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    @Test func decodesCommandHeadersAndBody() throws {
        let frame = try decodeSingle("SEND\ndestination:/queue/a\nreceipt:77\n\nhello\0")

        #expect(frame.command == .send)
        #expect(frame.headers.entries.map(\.name) == ["destination", "receipt"])
        #expect(frame.headers["destination"] == "/queue/a")
        #expect(frame.headers["receipt"] == "77")
        #expect(frame.bodyText == "hello")
    }

    @Test(arguments: StompCommand.allCases)
    func decodesEveryCommand(_ command: StompCommand) throws {
        let frame = try decodeSingle("\(command.rawValue)\nid:1\n\n\0")

        #expect(frame == StompFrame(command, headers: ["id": "1"]))
    }

    @Test func splitsHeaderOnlyAtTheFirstColon() throws {
        let frame = try decodeSingle("MESSAGE\nurl:http://example.com:8080/x\n\n\0")

        #expect(frame.headers["url"] == "http://example.com:8080/x")
    }

    @Test func acceptsEmptyHeaderValue() throws {
        let frame = try decodeSingle("SEND\nempty:\n\n\0")

        #expect(frame.headers.entries.count == 1)
        #expect(frame.headers["empty"] == "")
    }

    @Test func keepsRepeatedHeadersButLooksUpTheFirst() throws {
        let frame = try decodeSingle("MESSAGE\nfoo:World\nfoo:Hello\n\n\0")

        #expect(frame.headers["foo"] == "World")
        #expect(frame.headers.entries.map(\.value) == ["World", "Hello"])
    }

    @Test func readsExactlyContentLengthBytesEvenWhenTheyContainNul() throws {
        let frame = try decodeSingle("SEND\ncontent-length:5\n\na\0b\0c\0")

        #expect(frame.body == [0x61, 0, 0x62, 0, 0x63])
    }

    @Test func zeroContentLengthMeansEmptyBody() throws {
        let frame = try decodeSingle("SEND\ncontent-length:0\n\n\0")

        #expect(frame.body.isEmpty)
    }

    @Test func onlyTheFirstContentLengthCounts() throws {
        let frame = try decodeSingle("SEND\ncontent-length:3\ncontent-length:1\n\nabc\0")

        #expect(frame.bodyText == "abc")
    }

    @Test func invalidRepeatedContentLengthIsIgnored() throws {
        let frame = try decodeSingle("SEND\ncontent-length:2\ncontent-length:oops\n\nab\0")

        #expect(frame.bodyText == "ab")
    }

    @Test func bodyWithoutContentLengthEndsAtTheFirstNul() throws {
        let frames = try decodeAll(bytes("SEND\n\nfirst\0SEND\n\nsecond\0"))

        #expect(frames.map(\.bodyText) == ["first", "second"])
    }

    @Test func acceptsCarriageReturnLineFeedLineEndings() throws {
        let frame = try decodeSingle("SEND\r\ndestination:/queue/a\r\nid:7\r\n\r\nbody\0")

        #expect(frame == StompFrame(.send, headers: ["destination": "/queue/a", "id": "7"], text: "body"))
    }

    @Test func skipsHeartbeatsBeforeBetweenAndAfterFrames() throws {
        let stream = "\n\r\n\nSEND\n\none\0\n\r\n\n\nSEND\n\ntwo\0\r\n\n"
        var decoder = StompFrameDecoder()
        decoder.append(bytes(stream))

        #expect(try decoder.next()?.bodyText == "one")
        #expect(try decoder.next()?.bodyText == "two")
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func waitsForTheLineFeedOfAHeartbeatCarriageReturn() throws {
        var decoder = StompFrameDecoder()
        decoder.append(bytes("\r"))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 1)

        decoder.append(bytes("\nSEND\n\n\0"))

        #expect(try decoder.next()?.command == .send)
    }

    @Test func returnsNilUntilTheNulArrives() throws {
        var decoder = StompFrameDecoder()
        decoder.append(bytes("SEND\ndestination:/queue/a\n\npartial"))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 34)

        decoder.append(bytes(" body\0"))

        #expect(try decoder.next()?.bodyText == "partial body")
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func bufferedByteCountExcludesDecodedFrames() throws {
        var decoder = StompFrameDecoder()
        decoder.append(bytes("SEND\n\na\0SEND\n"))

        _ = try decoder.next()

        #expect(decoder.bufferedByteCount == 5)
    }

    @Test func acceptsBytesFromAnUnsafeRawBuffer() throws {
        var decoder = StompFrameDecoder()
        bytes("SEND\nid:9\n\nraw\0").withUnsafeBytes { decoder.append($0) }

        #expect(try decoder.next() == StompFrame(.send, headers: ["id": "9"], text: "raw"))
    }

    @Test func dropsConsumedBytesSoALongStreamNeedsASmallBuffer() throws {
        let frame = StompFrame(.message, headers: ["destination": "/topic/t", "message-id": "m"], text: "payload")
        let encoded = StompFrameEncoder.encode(frame)
        var decoder = StompFrameDecoder()
        var decodedCount = 0
        var largestStorage = 0

        // 20,000 frames arriving in reads that cut frames anywhere.
        let stream = Array(repeating: encoded, count: 20_000).flatMap { $0 }
        var start = 0
        while start < stream.count {
            let end = min(stream.count, start + 1_000)
            decoder.append(stream[start..<end])
            while let decoded = try decoder.next() {
                #expect(decoded == asReceived(frame))
                decodedCount += 1
            }
            largestStorage = max(largestStorage, decoder.buffer.count)
            start = end
        }

        #expect(decodedCount == 20_000)
        // Consumed bytes are dropped once they outnumber the rest, so storage stays near one read.
        #expect(largestStorage < 10_000)
    }
}
