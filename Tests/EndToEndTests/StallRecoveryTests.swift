import Foundation
import Glibc
import MusterStomp
import MusterTestSupport
import Synchronization
import Testing

/// A broker that was stopped (SIGSTOP, a stalled VM, a long GC-like pause of the host) reads
/// what its clients sent meanwhile before it judges them silent: heart-beats that waited in
/// the socket keep the connection.
@Suite("a stalled broker and heart-beating clients", .tags(.timing))
struct StallRecoveryTests {
    @Test func clientsWhoseBeatsWaitedInTheSocketAreKeptAfterAStall() async throws {
        // The broker expects a beat every second and gives up after 2 s of silence (wide enough for
        // a loaded two-core machine to schedule the beating thread).
        try await withBroker(settings: "heartbeat: {send-ms: 0, expect-ms: 1000, tolerance: 2.0}") { broker in
            // Several clients, so that they are spread over the broker's event loops.
            var clients: [RawStompClient] = []
            for party in ["langxia-town", "jinshan-public-security", "shanta-village-grid", "joint-command"] {
                let files = try broker.pki.client(party)
                let client = try await runBlocking { try RawStompClient(address: broker.address, tls: files.tls, loop: ConnectionHealthTests.loop) }
                let connected = try await runBlocking { () throws -> StompFrame? in
                    client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1", "heart-beat": "200,0"]))
                    return try client.nextFrame()
                }
                #expect(connected?.command == .connected)
                clients.append(client)
            }
            defer { for client in clients { client.close() } }
            // The clients beat every 200 ms, from a thread of their own, throughout.
            let beating = Atomic<Bool>(true)
            let beaten = clients
            let beater = Thread {
                while beating.load(ordering: .relaxed) {
                    for client in beaten { client.send([0x0A]) }
                    usleep(200_000)
                }
            }
            beater.start()
            defer { beating.store(false, ordering: .relaxed) }

            // Stopped for 5 s, more than twice the silence the broker tolerates.
            #expect(Glibc.kill(broker.processIdentifier, SIGSTOP) == 0)
            try await Task.sleep(for: .seconds(5))
            #expect(Glibc.kill(broker.processIdentifier, SIGCONT) == 0)

            for client in clients {
                let answer = try await runBlocking { () throws -> StompFrame? in
                    client.send(StompFrame(.send, headers: ["destination": "/topic/after-stall", "receipt": "still-here"], body: Array("x".utf8)))
                    while let frame = try client.nextFrame(timeout: 10) {
                        if frame.command == .receipt || frame.command == .error { return frame }
                    }
                    return nil
                }
                #expect(answer?.command == .receipt, "the connection was closed: \(answer?.headers["message"] ?? "no answer")")
            }
        }
    }
}
