import Foundation
import Glibc
import MusterTestSupport
import Testing
@testable import MusterNet

/// The broker's channels let OpenSSL read ahead: one read(2) takes whatever the socket holds,
/// several TLS records at once. Records OpenSSL holds are invisible to epoll, so a channel
/// whose reading was paused must hand them over when it resumes, without the socket's help.
@Suite struct TLSReadAheadTests {
    @Test func recordsReadAheadWhilePausedAreDeliveredOnResumeWithoutTheSocket() async throws {
        try await withTLSHarness(serverEchoes: false, serverPausesReading: true) { harness in
            let records = (1...3).map { Array("SEND\ndestination:/queue/readahead\n\nrecord \($0)\n\0".utf8) }
            let client = try harness.connect(try harness.clientTLS())
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both sides open") { client.log.opened && server.log.opened }
            // One record per loop iteration: three SSL_writes, three TLS records.
            let loop = client.channel.loop
            loop.execute {
                client.channel.write(records[0])
                loop.execute {
                    client.channel.write(records[1])
                    loop.execute { client.channel.write(records[2]) }
                }
            }
            let sent = records.reduce(0) { $0 + $1.count }
            try await eventually("all three records wait in the paused server's socket") {
                unreadBytes(server.channel.descriptor) >= sent
            }
            #expect(server.log.received.isEmpty)

            func resumeServer() { server.channel.loop.execute { server.channel.resumeReading() } }
            resumeServer()
            try await eventually("the first record") { server.log.received.count >= records[0].count }
            #expect(server.log.received == records[0], "the channel paused after its first read")
            #expect(unreadBytes(server.channel.descriptor) == 0,
                    "one read(2) took all three records: OpenSSL holds the other two, the socket is empty")
            resumeServer()
            try await eventually("the second record, from OpenSSL's buffer") {
                server.log.received.count >= records[0].count + records[1].count
            }
            resumeServer()
            try await eventually("the third record") { server.log.received.count >= sent }
            #expect(server.log.received == records.flatMap { $0 })
        }
    }
}

/// Bytes the kernel holds for `descriptor` that nobody has read (FIONREAD).
private func unreadBytes(_ descriptor: Int32) -> Int {
    var count: Int32 = 0
    guard ioctl(descriptor, UInt(FIONREAD), &count) == 0 else { return -1 }
    return Int(count)
}
