import MusterStomp
import Testing

/// However a stream is cut into reads, the decoder must see exactly the same frames and errors.
@Suite("Frame splitting")
struct FrameSplittingTests {
    /// Several frames exercising every decoding path, with heart-beats between them.
    static let expectedFrames: [StompFrame] = [
        StompFrame(.connect, headers: ["accept-version": "1.2", "host": "broker", "passcode": "a\\nb"]),
        StompFrame(.send, headers: ["destination": "/queue/a", "content-length": "6"], body: [1, 0, 2, 0, 3, 0]),
        StompFrame(.subscribe, headers: ["id": "0", "destination": "/topic/x:y", "selector": "a\nb\\c"]),
        StompFrame(.message, headers: ["subscription": "0", "message-id": "9", "content-length": "13"],
                   text: "héllo wörld"),
        StompFrame(.disconnect, headers: ["receipt": "r-1"]),
    ]

    static let stream: [UInt8] =
        bytes("\n\r\n")
        + StompFrameEncoder.encode(expectedFrames[0]) + bytes("\n")
        + StompFrameEncoder.encode(expectedFrames[1]) + bytes("\r\n\r\n")
        + bytes("SUBSCRIBE\r\nid:0\r\ndestination:/topic/x\\cy\r\nselector:a\\nb\\\\c\r\n\r\n\0")
        + StompFrameEncoder.encode(expectedFrames[3]) + bytes("\n\n\n")
        + StompFrameEncoder.encode(expectedFrames[4])

    @Test func decodesTheStreamInOnePiece() throws {
        #expect(try decodeAll(Self.stream) == Self.expectedFrames)
    }

    @Test func decodesFrameSplitAtEveryByteBoundary() throws {
        for cut in 0...Self.stream.count {
            let pieces = [Array(Self.stream[..<cut]), Array(Self.stream[cut...])]

            let frames = try decodeAll(pieces)

            #expect(frames == Self.expectedFrames, "cut at byte \(cut)")
        }
    }

    @Test func decodesStreamFedOneByteAtATime() throws {
        let pieces = Self.stream.map { [$0] }

        #expect(try decodeAll(pieces) == Self.expectedFrames)
    }

    @Test(arguments: [1, 2, 3, 42, 2_024, 65_537] as [UInt64])
    func decodesStreamFedInRandomChunks(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        // Enough copies that consumed bytes get compacted away while frames are half-read.
        let longStream = Array(repeating: Self.stream, count: 60).flatMap { $0 }
        let expected = Array(repeating: Self.expectedFrames, count: 60).flatMap { $0 }

        let pieces = randomChunks(of: longStream, maximumChunk: 97, using: &generator)

        #expect(try decodeAll(pieces) == expected)
    }

    @Test(arguments: [7, 99] as [UInt64])
    func decodesRandomFramesFedInRandomChunks(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let frames = (0..<300).map { _ in Self.randomFrame(using: &generator) }
        let stream = frames.flatMap { StompFrameEncoder.encode($0) + StompFrameEncoder.heartbeat }

        let pieces = randomChunks(of: stream, maximumChunk: 512, using: &generator)

        #expect(try decodeAll(pieces) == frames.map(asReceived))
    }

    @Test(arguments: [
        "SEND\nbad header\n\n\0",
        "SEND\ncontent-length:3\n\nabcd\0",
        "SEND\nname:a\\tb\n\n\0",
        "FOO\n\n\0",
        "GET / HTTP/1.1\r\nHost: example\r\n\r\n",
    ])
    func throwsTheSameErrorWhereverTheStreamIsCut(malformed: String) throws {
        let stream = bytes("SEND\n\nok\0") + bytes(malformed)
        let whole = try #require(decodingError(stream))

        for cut in 0...stream.count {
            let pieces = [Array(stream[..<cut]), Array(stream[cut...])]
            #expect(throws: whole, "cut at byte \(cut)") { try decodeAll(pieces) }
        }
        #expect(throws: whole) { try decodeAll(stream.map { [$0] }) }
    }

    /// A frame with a random command, headers full of characters that need escaping, and a body
    /// that sometimes contains NULs (and then must carry a content-length).
    static func randomFrame(using generator: inout SeededGenerator) -> StompFrame {
        let alphabet = Array("ab:\\\n\r é€1-".unicodeScalars)
        func text(_ length: ClosedRange<Int>) -> String {
            var result = ""
            for _ in 0..<Int.random(in: length, using: &generator) {
                result.unicodeScalars.append(alphabet.randomElement(using: &generator)!)
            }
            return result
        }
        let command = StompCommand.allCases.filter(\.escapesHeadersForTest).randomElement(using: &generator)!
        var headers = StompHeaders()
        for _ in 0..<Int.random(in: 0...6, using: &generator) {
            headers.append("h" + text(0...8), text(0...20))
        }
        let body = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
            UInt8.random(in: 0...255, using: &generator)
        }
        return StompFrame(command, headers: headers, body: body)
    }
}

extension StompCommand {
    /// CONNECT and CONNECTED headers cannot carry LF, CR or ':' (they are sent unescaped).
    var escapesHeadersForTest: Bool { self != .connect && self != .connected }
}
