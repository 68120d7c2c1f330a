import MusterStomp
import Testing

@Suite("Frame limits")
struct FrameLimitsTests {
    static let small = StompLimits(maxFrameBytes: 1_000, maxHeaderCount: 3, maxHeaderLineBytes: 24, maxBodyBytes: 100)

    @Test func defaultsMatchTheDocumentedValues() {
        #expect(StompLimits.default == StompLimits(
            maxFrameBytes: 4 * 1024 * 1024 + 64 * 1024, maxHeaderCount: 64,
            maxHeaderLineBytes: 8 * 1024, maxBodyBytes: 4 * 1024 * 1024))
        #expect(StompLimits() == .default)
    }

    // MARK: Header lines

    @Test func endlessHeaderLineIsRefusedBeforeItEnds() {
        let stream = endlessStream(prefix: "SEND\nname:", filler: 0x78, chunkSize: 1)

        let refusal = feedUntilRefused(stream, limits: Self.small)

        // "SEND\n" then 24 content bytes, an allowed CR and one more byte that cannot be the LF.
        #expect(refusal == Refusal(error: .headerTooLarge(limit: 24), bytesFed: 5 + 26))
    }

    @Test func endlessHeaderLineIsRefusedUnderDefaultLimits() throws {
        let stream = endlessStream(prefix: "SEND\nname:", filler: 0x78, chunkSize: 1_000)

        let refusal = try #require(feedUntilRefused(stream))

        #expect(refusal.error == .headerTooLarge(limit: 8 * 1024))
        #expect(refusal.bytesFed < 8 * 1024 + 1_000 + 10)
    }

    @Test func headerLineOfExactlyTheLimitIsAccepted() throws {
        let line = "name:" + String(repeating: "v", count: 19)
        let frames = try decodeAll(bytes("SEND\n\(line)\r\n\n\0"), limits: Self.small)

        #expect(frames.first?.headers["name"]?.count == 19)
    }

    @Test func headerLineOneByteOverTheLimitIsRefused() {
        let line = "name:" + String(repeating: "v", count: 20)

        #expect(decodingError(bytes("SEND\n\(line)\n\n\0"), limits: Self.small) == .headerTooLarge(limit: 24))
    }

    @Test func headerCountAtTheLimitIsAccepted() throws {
        let frames = try decodeAll(bytes("SEND\na:1\nb:2\na:3\n\n\0"), limits: Self.small)

        #expect(frames.first?.headers.count == 3)
    }

    @Test func repeatedHeadersCountTowardsTheHeaderLimit() {
        let error = decodingError(bytes("SEND\na:1\na:2\na:3\na:4\n\n\0"), limits: Self.small)

        #expect(error == .tooManyHeaders(limit: 3))
    }

    // MARK: Bodies

    @Test func endlessBodyIsRefusedBeforeItEnds() {
        let stream = endlessStream(prefix: "SEND\n\n", filler: 0x78, chunkSize: 1)

        let refusal = feedUntilRefused(stream, limits: Self.small)

        // 100 body bytes are allowed; the 101st, not being NUL, is one too many.
        #expect(refusal == Refusal(error: .bodyTooLarge(limit: 100), bytesFed: 6 + 101))
    }

    @Test func endlessBodyIsRefusedUnderDefaultLimits() throws {
        let stream = endlessStream(prefix: "SEND\n\n", filler: 0x78, chunkSize: 64 * 1024)

        let refusal = try #require(feedUntilRefused(stream))

        #expect(refusal.error == .bodyTooLarge(limit: 4 * 1024 * 1024))
        #expect(refusal.bytesFed <= 4 * 1024 * 1024 + 64 * 1024 + 6)
    }

    @Test func bodyOfExactlyTheLimitIsAccepted() throws {
        let body = String(repeating: "b", count: 100)

        let withNul = try decodeAll(bytes("SEND\n\n\(body)\0"), limits: Self.small)
        let withLength = try decodeAll(bytes("SEND\ncontent-length:100\n\n\(body)\0"), limits: Self.small)

        #expect(withNul.first?.body.count == 100)
        #expect(withLength.first?.body.count == 100)
    }

    @Test func contentLengthOverTheBodyLimitIsRefusedAsSoonAsItsHeaderArrives() {
        let refusal = feedUntilRefused([bytes("SEND\ncontent-length:101\n")], limits: Self.small)

        #expect(refusal == Refusal(error: .bodyTooLarge(limit: 100), bytesFed: 24))
    }

    @Test func contentLengthBeyondIntIsRefusedAsTooLarge() {
        let error = decodingError(bytes("SEND\ncontent-length:99999999999999999999999\n\n\0"))

        #expect(error == .bodyTooLarge(limit: StompLimits.default.maxBodyBytes))
    }

    // MARK: Whole frames

    static let tinyFrames = StompLimits(maxFrameBytes: 40, maxHeaderCount: 8, maxHeaderLineBytes: 64, maxBodyBytes: 100)

    @Test func frameOfExactlyTheLimitIsAccepted() throws {
        // 6 bytes of command and blank line, 33 body bytes, the NUL: 40.
        let frame = "SEND\n\n" + String(repeating: "x", count: 33) + "\0"

        #expect(try decodeAll(bytes(frame), limits: Self.tinyFrames).count == 1)
    }

    @Test func endlessBodyWithinTheBodyLimitIsRefusedAtTheFrameLimit() {
        let stream = endlessStream(prefix: "SEND\n\n", filler: 0x78, chunkSize: 1)

        let refusal = feedUntilRefused(stream, limits: Self.tinyFrames)

        #expect(refusal == Refusal(error: .frameTooLarge(limit: 40), bytesFed: 40))
    }

    @Test func contentLengthOverTheFrameLimitIsRefusedBeforeTheBodyArrives() {
        // 24 header bytes + 16 body bytes + NUL = 41.
        let refusal = feedUntilRefused([bytes("SEND\ncontent-length:16\n\n")], limits: Self.tinyFrames)

        #expect(refusal == Refusal(error: .frameTooLarge(limit: 40), bytesFed: 24))
    }

    @Test func endlessHeadersWithinTheLineLimitAreRefusedAtTheFrameLimit() throws {
        let stream = [bytes("SEND\n")] + Array(repeating: bytes("a:1\n"), count: 100)
        let limits = StompLimits(maxFrameBytes: 40, maxHeaderCount: 1_000, maxHeaderLineBytes: 64, maxBodyBytes: 100)

        let refusal = try #require(feedUntilRefused(stream, limits: limits))

        #expect(refusal.error == .frameTooLarge(limit: 40))
        #expect(refusal.bytesFed <= 41)
    }

    @Test func heartbeatsDoNotAccumulate() throws {
        var decoder = StompFrameDecoder(limits: Self.tinyFrames)

        for _ in 0..<1_000 {
            decoder.append(bytes("\n\r\n\n"))
            #expect(try decoder.next() == nil)
        }

        #expect(decoder.bufferedByteCount == 0)
    }
}
