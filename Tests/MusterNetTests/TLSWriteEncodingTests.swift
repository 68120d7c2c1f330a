import Foundation
import Synchronization
import MusterTestSupport
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

    /// A RECEIPT staged by the log writer thread, then one written on the loop itself (its own
    /// commit's): the staged one was written first and must go out first.
    @Test func bytesStagedFromAnotherThreadGoOutBeforeLaterBytesWrittenOnTheLoop() async throws {
        try await withTLSHarness(serverEchoes: false) { harness in
            let client = try harness.connect(try harness.clientTLS())
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both sides open") { client.log.opened && server.log.opened }
            let written = Flag()
            client.channel.loop.execute {
                // While this task runs the loop cannot take the staged bytes over by itself.
                let other = Thread { client.channel.write(Array("first ".utf8)) }
                other.start()
                while client.channel.approximateBacklog < 6 { usleep(100) }
                client.channel.write(Array("second".utf8))
                written.set()
            }
            try await eventually("both writes") { written.isSet }
            try await eventually("every byte at the server") { server.log.received.count >= 12 }
            #expect(String(decoding: server.log.received, as: UTF8.self) == "first second")
        }
    }

    /// A RECEIPT staged by another thread, then a close on the loop: the RECEIPT still goes out.
    @Test func bytesStagedFromAnotherThreadAreSentBeforeACloseOnTheLoop() async throws {
        try await withTLSHarness(serverEchoes: false) { harness in
            let client = try harness.connect(try harness.clientTLS())
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both sides open") { client.log.opened && server.log.opened }
            client.channel.loop.execute {
                let other = Thread { client.channel.write(Array("receipt".utf8)) }
                other.start()
                while client.channel.approximateBacklog < 7 { usleep(100) }
                client.channel.close()
            }
            try await eventually("the server sees the close") { server.log.closed }
            #expect(String(decoding: server.log.received, as: UTF8.self) == "receipt")
        }
    }

    @Test func aLargeOutboundBufferIsReleasedOnceSentAndASmallOneKept() async throws {
        try await withTLSHarness(serverEchoes: false) { harness in
            let client = try harness.connect(try harness.clientTLS())
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both sides open") { client.log.opened && server.log.opened }
            let loop = client.channel.loop
            let capacities = Mutex<[Int]>([])
            for size in [64 << 10, 512] {
                let expected = server.log.received.count + size  // counted before the bytes can arrive
                loop.execute { client.channel.write(patternBytes(count: size)) }
                try await eventually("\(size) bytes at the server") { server.log.received.count >= expected }
                // The flush that sent them has finished by the next iteration of the client's loop.
                let measured = Flag()
                loop.execute {
                    capacities.withLock { $0.append(client.channel.outboundCapacity) }
                    measured.set()
                }
                try await eventually("capacity read") { measured.isSet }
            }
            let kept = capacities.withLock { $0 }
            #expect(kept.count == 2)
            #expect(kept.first == 0, "a 64 KiB buffer is released once sent, not kept while the connection idles")
            #expect((1..<(16 << 10)).contains(kept.last ?? 0), "a small one is kept for the next frames")
        }
    }
}
