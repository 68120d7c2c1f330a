import Foundation
import Testing
@testable import MusterNet

/// `write(encoding:)` lets a sender on another thread (the consumer pump, another event loop)
/// encode a frame straight into the channel's staging buffer; the loop then sends it.
@Suite struct TLSWriteEncodingTests {
    @Test func framesEncodedFromAnotherThreadArriveWholeAndInOrder() async throws {
        try await withTLSHarness(serverEchoes: false) { harness in
            // A small send buffer keeps bytes queued in the channel while more arrive from the sender.
            let client = try harness.connect(try harness.clientTLS()) { shrinkSendBuffer($0.descriptor) }
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both sides open") { client.log.opened && server.log.opened }
            // 2,000 frames of 1,000-1,999 bytes: the staging buffer fills, drains and refills many times.
            let frames = (0..<2_000).map { index in patternBytes(count: 1_000 + index % 1_000, seed: UInt64(index + 1)) }
            let expected = frames.flatMap { $0 }
            let sender = Thread {
                for (index, frame) in frames.enumerated() {
                    if index % 2 == 0 {
                        client.channel.write { $0.append(contentsOf: frame) }
                    } else {
                        client.channel.write(frame)
                    }
                }
            }
            sender.start()
            try await eventually("every byte at the server") { server.log.received.count >= expected.count }
            expectSameBytes(server.log.received, expected, "frames written off the loop, in order")
        }
    }
}
