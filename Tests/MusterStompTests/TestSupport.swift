import MusterStomp
import Testing

/// The UTF-8 bytes of `text`; Swift's "\0" gives the NUL that ends a frame.
func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

/// Feeds `chunks` one after another, draining every complete frame after each.
func decodeAll(
    _ chunks: [[UInt8]], limits: StompLimits = .default
) throws(StompFrameError) -> [StompFrame] {
    var decoder = StompFrameDecoder(limits: limits)
    var frames: [StompFrame] = []
    for chunk in chunks {
        decoder.append(chunk)
        while let frame = try decoder.next() {
            frames.append(frame)
        }
    }
    return frames
}

/// Decodes `stream` delivered in one piece.
func decodeAll(_ stream: [UInt8], limits: StompLimits = .default) throws(StompFrameError) -> [StompFrame] {
    try decodeAll([stream], limits: limits)
}

/// The first frame of `text`, which must decode to exactly one frame.
func decodeSingle(_ text: String) throws -> StompFrame {
    let frames = try decodeAll(bytes(text))
    try #require(frames.count == 1)
    return frames[0]
}

/// The error decoding `stream` throws, or nil if it decodes cleanly.
func decodingError(_ stream: [UInt8], limits: StompLimits = .default) -> StompFrameError? {
    do {
        _ = try decodeAll(stream, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// Result of feeding a stream piece by piece until the decoder refuses it.
struct Refusal: Equatable {
    var error: StompFrameError
    /// Bytes that had been appended when the error was thrown.
    var bytesFed: Int
}

/// Appends `chunks` one at a time, calling `next()` after each, and reports the first error.
/// `chunks` is lazy so that an "endless" stream is only generated as far as it is read.
func feedUntilRefused(
    _ chunks: some Sequence<[UInt8]>, limits: StompLimits = .default
) -> Refusal? {
    var decoder = StompFrameDecoder(limits: limits)
    var bytesFed = 0
    for chunk in chunks {
        decoder.append(chunk)
        bytesFed += chunk.count
        do {
            while try decoder.next() != nil {}
        } catch {
            return Refusal(error: error, bytesFed: bytesFed)
        }
    }
    return nil
}

/// `prefix`, then `filler` in pieces of `chunkSize` bytes: an "endless" line or body. It stops
/// after `giveUpAfter` bytes only so that a decoder that never refuses fails the test instead of hanging.
func endlessStream(
    prefix: String, filler: UInt8, chunkSize: Int, giveUpAfter: Int = 64 * 1024 * 1024
) -> some Sequence<[UInt8]> {
    let fillerChunk = [UInt8](repeating: filler, count: chunkSize)
    return sequence(first: bytes(prefix)) { _ in fillerChunk }.prefix(giveUpAfter / chunkSize)
}

/// SplitMix64: a tiny deterministic generator so random splits are reproducible from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// Cuts `stream` into consecutive pieces of random length between 1 and `maximumChunk`.
func randomChunks(
    of stream: [UInt8], maximumChunk: Int, using generator: inout SeededGenerator
) -> [[UInt8]] {
    var chunks: [[UInt8]] = []
    var start = 0
    while start < stream.count {
        let end = min(stream.count, start + Int.random(in: 1...maximumChunk, using: &generator))
        chunks.append(Array(stream[start..<end]))
        start = end
    }
    return chunks
}

/// `frame` as a decoder returns it after `StompFrameEncoder` sent it: with the `content-length`
/// header the encoder adds to a non-empty body.
func asReceived(_ frame: StompFrame) -> StompFrame {
    var received = frame
    if !frame.body.isEmpty && !frame.headers.contains("content-length") {
        received.headers.append("content-length", String(frame.body.count))
    }
    return received
}
