import FuzzSupport
import MusterStomp

// The STOMP frame decoder, fed what a peer may send. Input: one byte choosing the limits, then
// (for small limits) their values, two bytes seeding the read boundaries, then the byte stream.
// Invariants:
//  1. Read boundaries do not matter: the stream decoded whole, one byte per read, and in
//     reads of sizes drawn from the seed gives the same frames, then the same error (or none)
//     with the same number of bytes left buffered.
//  2. Limits hold: no decoded frame has more headers, a longer header line, a larger body or
//     more bytes (command line to NUL, as received) than the limits allow.
//  3. A failed decoder stays failed: it rethrows the same error and ignores further bytes.
//  4. Round trip: each frame re-encoded decodes to itself (plus the content-length header the
//     encoder adds to a body without one), alone and with all the frames in one stream.

func check(_ input: [UInt8]) {
    var choices = FuzzBytes(input)
    let limits = chooseLimits(&choices)
    let seed = choices.uint16()
    let stream = Array(choices.rest)

    let whole = decode(stream, limits: limits, readSizes: [stream.count])
    let byteByByte = decode(stream, limits: limits, readSizes: Array(repeating: 1, count: stream.count))
    let drawn = decode(stream, limits: limits, readSizes: readSizes(count: stream.count, seed: seed))
    invariant(whole == byteByByte, "decoded whole \(whole), one byte per read \(byteByByte)")
    invariant(whole == drawn, "decoded whole \(whole), in reads from seed \(seed) \(drawn)")

    for (frame, raw) in zip(whole.frames, whole.rawFrames) {
        checkLimits(frame, raw: raw, limits: limits)
        checkRoundTrip(frame)
    }
    checkStreamRoundTrip(whole.frames)
}

/// The limits are the fuzzer's to choose: the defaults, none at all, or small ones it can reach.
func chooseLimits(_ choices: inout FuzzBytes) -> StompLimits {
    switch choices.byte() % 4 {
    case 0:
        return .default
    case 1:
        return unlimited
    default:
        return StompLimits(maxFrameBytes: choices.int(in: 1...2048), maxHeaderCount: choices.int(in: 0...16),
                           maxHeaderLineBytes: choices.int(in: 1...512), maxBodyBytes: choices.int(in: 0...1024))
    }
}

let unlimited = StompLimits(maxFrameBytes: .max, maxHeaderCount: .max, maxHeaderLineBytes: .max, maxBodyBytes: .max)

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
        "\(frames.count) frames (\(frames.map(\.command.rawValue).joined(separator: " "))), "
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

func checkLimits(_ frame: StompFrame, raw: ArraySlice<UInt8>, limits: StompLimits) {
    invariant(raw.count <= limits.maxFrameBytes, "a \(raw.count)-byte frame passed the \(limits.maxFrameBytes)-byte limit")
    invariant(frame.headers.count <= limits.maxHeaderCount, "\(frame.headers.count) headers passed the limit of \(limits.maxHeaderCount)")
    invariant(frame.body.count <= limits.maxBodyBytes, "a \(frame.body.count)-byte body passed the \(limits.maxBodyBytes)-byte limit")
    invariant(raw.last == 0, "a frame was returned before its NUL")

    // Split the frame as received into its lines, independently of the decoder.
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
    for line in lines.dropFirst().dropLast() {
        invariant(line.count <= limits.maxHeaderLineBytes,
                  "a \(line.count)-byte header line passed the \(limits.maxHeaderLineBytes)-byte limit")
    }
    invariant(Array(rest.dropLast()) == frame.body, "the body is not the bytes between the blank line and the NUL")
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
