import FuzzSupport
import MusterStomp

// The STOMP frame decoder, fed what a peer may send. Input: a mode byte, then the limits' values
// (mode 2: four u16) or how far each limit sits from the largest value the frames reach (mode 3:
// four bytes, -2...+1), two bytes seeding the read boundaries, and the byte stream. The mode's low
// two bits choose the limits (0 the defaults, 1 none, 2 given, 3 at the edge of the frames); the
// next three repeat the stream (1 to 8 times, up to 8 KiB) so that it passes the 4 KiB at which
// the decoder drops consumed bytes.
// Invariants:
//  1. Read boundaries do not matter: the stream decoded whole, one byte per read (up to 4 KiB),
//     and in reads of sizes drawn from the seed gives the same frames, then the same error (or
//     none) with the same number of bytes left buffered.
//  2. Limits hold, both ways: no decoded frame has more headers, a longer header line, a larger
//     body or more bytes (command line to NUL, as received) than the limits allow; and the same
//     stream without limits gives the same frames, unless a limit error stops it at a frame that
//     is over a limit. Any other error is the one the stream has without limits.
//  3. A failed decoder stays failed: it rethrows the same error and ignores further bytes.
//  4. Round trip: each frame re-encoded decodes to itself (plus the content-length header the
//     encoder adds to a body without one), alone and with all the frames in one stream.

func check(_ input: [UInt8]) {
    var choices = FuzzBytes(input)
    let mode = Int(choices.byte())
    let choice = chooseLimits(mode, &choices)
    let seed = choices.uint16()
    var stream = Array(choices.rest)
    for _ in 0..<((mode >> 2) % 8) where stream.count + choices.rest.count <= 8 * 1024 {
        stream.append(contentsOf: choices.rest)
    }

    let free = decode(stream, limits: unlimited, readSizes: [stream.count])
    let limits: StompLimits
    switch choice {
    case .given(let given): limits = given
    case .edge(let offsets): limits = edgeLimits(free, offsets)
    }
    let whole = limits == unlimited ? free : decode(stream, limits: limits, readSizes: [stream.count])
    let drawn = decode(stream, limits: limits, readSizes: readSizes(count: stream.count, seed: seed))
    invariant(whole == drawn, "decoded whole \(whole), in reads from seed \(seed) \(drawn)")
    // One byte per read costs a call per byte: done for streams up to 4 KiB, longer ones get a
    // second set of drawn reads.
    if stream.count <= 4096 {
        let byteByByte = decode(stream, limits: limits, readSizes: Array(repeating: 1, count: stream.count))
        invariant(whole == byteByByte, "decoded whole \(whole), one byte per read \(byteByByte)")
    } else {
        let again = decode(stream, limits: limits, readSizes: readSizes(count: stream.count, seed: seed ^ 0xA5A5))
        invariant(whole == again, "decoded whole \(whole), in reads from seed \(seed ^ 0xA5A5) \(again)")
    }

    for (index, (frame, raw)) in zip(whole.frames, whole.rawFrames).enumerated() {
        let size = measure(frame, raw: raw)
        invariant(!size.exceeds(limits), "a frame over the limits was returned: \(size), \(limits)")
        // Alone, the first frames (a repeated stream repeats them); in one stream, all of them.
        if index < 32 { checkRoundTrip(frame) }
    }
    checkAgainstUnlimited(whole, free, limits)
    checkStreamRoundTrip(whole.frames)
}

enum LimitChoice {
    case given(StompLimits)
    /// Added to the largest frame size, header count, header line and body the stream has.
    case edge([Int])
}

/// The limits are the fuzzer's to choose: the defaults, none at all, small ones it gives, or
/// ones just around what its frames need.
func chooseLimits(_ mode: Int, _ choices: inout FuzzBytes) -> LimitChoice {
    switch mode % 4 {
    case 0:
        return .given(.default)
    case 1:
        return .given(unlimited)
    case 2:
        return .given(StompLimits(maxFrameBytes: choices.int(in: 1...2048), maxHeaderCount: choices.int(in: 0...16),
                                  maxHeaderLineBytes: choices.int(in: 1...512), maxBodyBytes: choices.int(in: 0...1024)))
    default:
        return .edge((0..<4).map { _ in Int(choices.byte() % 4) - 2 })
    }
}

let unlimited = StompLimits(maxFrameBytes: .max, maxHeaderCount: .max, maxHeaderLineBytes: .max, maxBodyBytes: .max)

func edgeLimits(_ free: Outcome, _ offsets: [Int]) -> StompLimits {
    var largest = FrameSize(bytes: 0, headers: 0, longestHeaderLine: 0, body: 0)
    for (frame, raw) in zip(free.frames, free.rawFrames) {
        let size = measure(frame, raw: raw)
        largest = FrameSize(bytes: max(largest.bytes, size.bytes), headers: max(largest.headers, size.headers),
                            longestHeaderLine: max(largest.longestHeaderLine, size.longestHeaderLine), body: max(largest.body, size.body))
    }
    return StompLimits(maxFrameBytes: max(1, largest.bytes + offsets[0]), maxHeaderCount: max(0, largest.headers + offsets[1]),
                       maxHeaderLineBytes: max(1, largest.longestHeaderLine + offsets[2]), maxBodyBytes: max(0, largest.body + offsets[3]))
}

/// Limits refuse frames early, never differently: what the stream decodes to without them is
/// what it decodes to with them, up to a frame that is over one.
func checkAgainstUnlimited(_ limited: Outcome, _ free: Outcome, _ limits: StompLimits) {
    let count = limited.frames.count
    invariant(count <= free.frames.count && Array(free.frames.prefix(count)) == limited.frames,
              "with limits \(limited), without \(free)")
    switch limited.error {
    case nil:
        invariant(limited == free, "within the limits \(limited), without them \(free)")
    case .frameTooLarge?, .tooManyHeaders?, .headerTooLarge?, .bodyTooLarge?:
        guard count < free.frames.count else { return }
        let size = measure(free.frames[count], raw: free.rawFrames[count])
        invariant(size.exceeds(limits), "frame \(count) (\(size)) was refused with \(limited.error!) under \(limits)")
    case let error?:
        invariant(free.error == error && free.frames.count == count, "with limits \(limited), without \(free)")
    }
}

/// Read sizes from 1 to 64 bytes from a small linear congruential generator.
func readSizes(count: Int, seed: Int) -> [Int] {
    var state = UInt32(seed) &* 2_654_435_761 &+ 1
    var sizes: [Int] = []
    var total = 0
    while total < count {
        state = state &* 1_664_525 &+ 1_013_904_223
        let size = Int(state >> 26) + 1
        sizes.append(size)
        total += size
    }
    return sizes
}

struct Outcome: Equatable, CustomStringConvertible {
    var frames: [StompFrame] = []
    var error: StompFrameError?
    var bufferedByteCount = 0
    /// The bytes each frame came from, heart-beats before it left out (compared through `frames`).
    var rawFrames: [ArraySlice<UInt8>] = []

    static func == (left: Outcome, right: Outcome) -> Bool {
        left.frames == right.frames && left.error == right.error && left.bufferedByteCount == right.bufferedByteCount
    }

    var description: String {
        "\(frames.count) frames (\(frames.prefix(12).map(\.command.rawValue).joined(separator: " "))\(frames.count > 12 ? " …" : "")), "
            + "error \(error.map { "\($0)" } ?? "none"), \(bufferedByteCount) bytes buffered"
    }
}

/// Appends the stream in reads of the given sizes, taking every complete frame after each read.
func decode(_ stream: [UInt8], limits: StompLimits, readSizes: [Int]) -> Outcome {
    var decoder = StompFrameDecoder(limits: limits)
    var outcome = Outcome()
    var appended = 0
    var consumed = 0
    reading: for size in readSizes where appended < stream.count {
        let end = min(stream.count, appended + size)
        if size % 2 == 0 {
            decoder.append(stream[appended..<end])
        } else {
            stream[appended..<end].withUnsafeBytes { decoder.append($0) }
        }
        appended = end
        while true {
            do {
                guard let frame = try decoder.next() else { break }
                let frameEnd = appended - decoder.bufferedByteCount
                outcome.frames.append(frame)
                outcome.rawFrames.append(withoutHeartbeats(stream[consumed..<frameEnd]))
                consumed = frameEnd
            } catch {
                outcome.error = error
                break reading
            }
        }
    }
    if let error = outcome.error {
        // A failed decoder keeps failing with the same error, whatever it is given.
        decoder.append(Array("SEND\n\n\0".utf8))
        do {
            let frame = try decoder.next()
            invariant(false, "after \(error) the decoder returned \(String(describing: frame))")
        } catch {
            invariant(error == outcome.error, "after \(outcome.error!) the decoder threw \(error)")
        }
        invariant(decoder.bufferedByteCount == 0, "a failed decoder still holds \(decoder.bufferedByteCount) bytes")
    }
    outcome.bufferedByteCount = decoder.bufferedByteCount
    invariant(outcome.bufferedByteCount <= stream.count - consumed,
              "\(outcome.bufferedByteCount) bytes buffered but only \(stream.count - consumed) not yet returned")
    return outcome
}

/// Drops the heart-beats (LF or CRLF) that precede a frame.
func withoutHeartbeats(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var rest = bytes
    while true {
        if rest.first == 0x0A {
            rest = rest.dropFirst()
        } else if rest.starts(with: [0x0D, 0x0A]) {
            rest = rest.dropFirst(2)
        } else {
            return rest
        }
    }
}

struct FrameSize: CustomStringConvertible {
    /// As received, from the command line to the NUL.
    var bytes: Int
    var headers: Int
    /// Without its LF or CRLF.
    var longestHeaderLine: Int
    var body: Int

    func exceeds(_ limits: StompLimits) -> Bool {
        bytes > limits.maxFrameBytes || headers > limits.maxHeaderCount
            || longestHeaderLine > limits.maxHeaderLineBytes || body > limits.maxBodyBytes
    }

    var description: String {
        "\(bytes) bytes, \(headers) headers, header lines up to \(longestHeaderLine) bytes, \(body)-byte body"
    }
}

/// Measures a frame as received, splitting it into lines independently of the decoder (and
/// checking that those lines are the frame that was decoded).
func measure(_ frame: StompFrame, raw: ArraySlice<UInt8>) -> FrameSize {
    invariant(raw.last == 0, "a frame was returned before its NUL")
    var lines: [ArraySlice<UInt8>] = []
    var rest = raw
    while let lineFeed = rest.firstIndex(of: 0x0A) {
        var line = rest[rest.startIndex..<lineFeed]
        if line.last == 0x0D { line = line.dropLast() }
        rest = rest[(lineFeed + 1)...]
        lines.append(line)
        if line.isEmpty && lines.count > 1 { break }
    }
    invariant(lines.count == frame.headers.count + 2, "\(lines.count) lines before the body for \(frame.headers.count) headers")
    invariant(Array(lines[0]) == Array(frame.command.rawValue.utf8), "command line \(Array(lines[0])) decoded as \(frame.command)")
    invariant(Array(rest.dropLast()) == frame.body, "the body is not the bytes between the blank line and the NUL")
    return FrameSize(bytes: raw.count, headers: frame.headers.count,
                     longestHeaderLine: lines.dropFirst().dropLast().map(\.count).max() ?? 0, body: frame.body.count)
}

/// What decoding the encoded frame must give back.
func expectedAfterEncoding(_ frame: StompFrame) -> StompFrame {
    var expected = frame
    if !frame.body.isEmpty && !frame.headers.contains("content-length") {
        expected.headers.append("content-length", String(frame.body.count))
    }
    return expected
}

/// CONNECT and CONNECTED headers are not escaped (STOMP 1.2), so a value ending in CR cannot be
/// written: the CR would be read as part of the line ending. The encoder documents this.
func isEncodable(_ frame: StompFrame) -> Bool {
    guard frame.command == .connect || frame.command == .connected else { return true }
    return !frame.headers.contains { $0.value.utf8.last == 0x0D }
}

func checkRoundTrip(_ frame: StompFrame) {
    guard isEncodable(frame) else { return }
    let encoded = StompFrameEncoder.encode(frame)
    let outcome = decode(encoded, limits: unlimited, readSizes: [encoded.count])
    let expected = expectedAfterEncoding(frame)
    invariant(outcome.error == nil && outcome.bufferedByteCount == 0 && outcome.frames == [expected],
              "\(frame) encoded as \(encoded) decoded as \(outcome)")
}

func checkStreamRoundTrip(_ frames: [StompFrame]) {
    let encodable = frames.filter(isEncodable)
    var stream: [UInt8] = []
    for (index, frame) in encodable.enumerated() {
        if index % 2 == 1 { stream.append(contentsOf: StompFrameEncoder.heartbeat) }
        StompFrameEncoder.encode(frame, into: &stream)
    }
    let outcome = decode(stream, limits: unlimited, readSizes: [stream.count])
    invariant(outcome.error == nil && outcome.frames == encodable.map(expectedAfterEncoding),
              "\(encodable.count) frames encoded in one stream decoded as \(outcome)")
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum FrameDecoderFuzz {
    static func main() {
        replayFiles(check)
    }
}
#endif
