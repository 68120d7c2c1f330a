import Dispatch
import Synchronization
import Testing
@testable import MusterLog

/// The hash chain is SHA-256(previous ‖ parts): checked against digests from Python's hashlib,
/// and on many threads at once (each thread hashes on its own digest context).
@Suite("Chain hash")
struct ChainHashTests {
    static func link(_ previous: ChainHash, _ parts: [UInt8]...) -> ChainHash {
        switch parts.count {
        case 0: return ChainHash.link(previous: previous)
        case 1: return parts[0].withUnsafeBytes { ChainHash.link(previous: previous, $0) }
        default: return parts[0].withUnsafeBytes { first in parts[1].withUnsafeBytes { ChainHash.link(previous: previous, first, $0) } }
        }
    }

    @Test func isSHA256OfThePreviousHashAndTheParts() {
        #expect(Self.link(.genesis).hex == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925")
        #expect(Self.link(.genesis, Array("abc".utf8)).hex == "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370")
        // Parts are concatenated: how the bytes are split does not matter, and empty parts add nothing.
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        #expect(Self.link(.genesis, long, Array("b".utf8)).hex == "4e3756db5709a5e14a6d8a4a4f82d5431aeecfa301db2fb9b373f6500c6f328c")
        #expect(Self.link(.genesis, long + Array("b".utf8), []).hex == "4e3756db5709a5e14a6d8a4a4f82d5431aeecfa301db2fb9b373f6500c6f328c")
    }

    @Test func threadsHashingAtOnceGetTheSameDigests() {
        let expected = (0..<64).map { Self.link(.genesis, [UInt8](repeating: UInt8($0), count: 100 + $0)) }
        let results = Mutex<[Int: ChainHash]>([:])
        DispatchQueue.concurrentPerform(iterations: expected.count * 8) { index in
            let value = index % expected.count
            let hash = Self.link(.genesis, [UInt8](repeating: UInt8(value), count: 100 + value))
            results.withLock { $0[index] = hash }
        }
        let computed = results.withLock { $0 }
        for index in 0..<expected.count * 8 { #expect(computed[index] == expected[index % expected.count]) }
    }
}
