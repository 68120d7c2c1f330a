import Foundation
import MusterTestSupport
import Synchronization
import Testing
@testable import MusterNet

// Mutual TLS over real sockets on 127.0.0.1: who gets in, what the server learns about them,
// what a refused peer is told, and that bytes survive the trip.

@Suite("TLS handshake and transport", .tags(.timing), .timeLimit(.minutes(2)))
struct TLSHandshakeTests {
    // MARK: Accepted clients

    @Test("A client of either trusted jurisdiction is accepted, identified by its URI and echoed",
          arguments: [("jinshan", "langxia-town"), ("pinghu", "dongtan")])
    func trustedClientIsAcceptedIdentifiedAndEchoed(jurisdiction: String, party: String) async throws {
        try await withTLSHarness { harness in
            let message = Array("SEND\ndestination:/queue/\(party)\n\nhello from \(jurisdiction)\n\0".utf8)
            let client = try harness.connect(try harness.clientTLS(party, jurisdiction: jurisdiction)) { channel in
                channel.write(message)  // queued before the handshake; must go out once it is done
            }
            let server = try await harness.acceptedServer(number: 1)

            try await eventually("server side open") { server.log.opened }
            let serverLog = server.log
            #expect(serverLog.peerCertificate?.uriNames == ["muster://\(jurisdiction)/\(party)"])
            #expect(serverLog.peerCertificate?.subject.contains("CN=\(party)") == true,
                    "\(String(describing: serverLog.peerCertificate?.subject))")
            #expect(server.channel.role == .server)

            try await eventually("echo of \(message.count) bytes") { client.log.received.count >= message.count }
            let clientLog = client.log
            #expect(clientLog.opened)
            #expect(clientLog.received == message)
            #expect(server.log.received == message)
            // The client verified the broker's certificate, which carries no Muster URI.
            #expect(clientLog.peerCertificate?.subject.contains("CN=test broker") == true)
            #expect(clientLog.peerCertificate?.uriNames == [])
            #expect(!clientLog.closed && !server.log.closed)
            #expect(clientLog.callsOffLoop == 0 && server.log.callsOffLoop == 0,
                    "delegate methods must run on the channel's loop thread")
        }
    }

    @Test("A 1 MiB payload echoes back byte for byte through small socket send buffers")
    func largePayloadEchoesIntact() async throws {
        try await withTLSHarness(serverSendBuffer: 4096) { harness in
            let payload = patternBytes(count: 1 << 20)
            let client = try harness.connect(try harness.clientTLS()) { channel in
                // Small send buffers force SSL_write to stop part-way many times, on both sides.
                shrinkSendBuffer(channel.descriptor)
            }
            try await eventually("client open") { client.log.opened }
            // Write on the loop, then probe the queue in the next iteration, after the end-of-iteration
            // flush: part of the payload must still be waiting for the socket, i.e. writes were partial.
            let pendingAfterFirstFlush = Atomic<Int>(-1)
            let loop = client.channel.loop
            loop.execute {
                client.channel.write(payload)
                loop.execute { pendingAfterFirstFlush.store(client.channel.pendingOutboundByteCount, ordering: .relaxed) }
            }
            let server = try await harness.acceptedServer(number: 1)

            try await eventually(timeout: .seconds(30), "1 MiB echoed") {
                client.log.received.count >= payload.count || client.log.closed
            }
            let pending = pendingAfterFirstFlush.load(ordering: .relaxed)
            #expect(pending > 0 && pending < payload.count, "bytes still queued after the first flush: \(pending)")
            let serverLog = server.log
            let clientLog = client.log
            #expect(clientLog.closeError == nil && serverLog.closeError == nil)
            expectSameBytes(serverLog.received, payload, "what the server read")
            expectSameBytes(clientLog.received, payload, "the echo")
        }
    }

    @Test("close() sends everything queued first, then an orderly close_notify")
    func closeFlushesQueuedBytesThenClosesOrderly() async throws {
        try await withTLSHarness { harness in
            // The echo is still arriving unread when the client closes: a channel that closed its
            // socket outright would make the kernel answer with RST, destroying the unsent tail
            // (close_notify, sometimes payload). That race is lost only part of the time, so the
            // scenario runs several times.
            for round in 1...6 {
                let client = try harness.connect(try harness.clientTLS()) { shrinkSendBuffer($0.descriptor) }
                let server = try await harness.acceptedServer(number: round)
                try await eventually("both open") { client.log.opened && server.log.opened }
                // Queue and close in one loop task, so the bytes are certainly still pending at close().
                let payload = patternBytes(count: 256 * 1024, seed: UInt64(round))
                client.channel.loop.execute {
                    client.channel.write(payload)
                    client.channel.close()
                }
                try await eventually(timeout: .seconds(30), "server saw the close") { server.log.closed }
                try await eventually("client closed") { client.log.closed }
                #expect(client.log.closeError == nil, "round \(round)")
                expectSameBytes(server.log.received, payload, "round \(round): bytes queued before close(flush: true)")
                #expect(server.log.closeError == nil,
                        "round \(round): close_notify is an orderly close: \(server.log.closeError ?? "")")
                if server.log.closeError != nil { break }
            }
        }
    }

    @Test("Bytes queued before close() reach a peer that is still sending")
    func closeDeliversQueuedBytesWhilePeerIsStillSending() async throws {
        try await withTLSHarness(serverEchoes: false) { harness in
            let client = try harness.connect(try harness.clientTLS())
            let server = try await harness.acceptedServer(number: 1)
            try await eventually("both open") { client.log.opened && server.log.opened }
            // The client keeps sending (like a publisher) while the server answers and hangs up
            // (like a broker sending an ERROR frame and closing).
            let stopSending = Flag()
            let clientChannel = client.channel
            Thread.detachNewThread {
                let chunk = patternBytes(count: 16 * 1024, seed: 3)
                for _ in 0..<512 where !stopSending.isSet { clientChannel.write(chunk); usleep(200) }
            }
            try await eventually("server is receiving") { server.log.received.count > 64 * 1024 }
            let answer = patternBytes(count: 64 * 1024, seed: 11)
            server.channel.loop.execute {
                server.channel.write(answer)
                server.channel.close()
            }
            try await eventually(timeout: .seconds(30), "client sees the close") { client.log.closed }
            stopSending.set()
            expectSameBytes(client.log.received, answer, "what the client got before the close")
            #expect(client.log.closeError == nil, "\(client.log.closeError ?? "")")
        }
    }

    // MARK: Refused clients

    @Test("A client without a certificate is refused and never gets an echo")
    func clientWithoutCertificateIsRefused() async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(harness.anonymousClientTLS) { channel in
                channel.write(Array("CONNECT\n\n\0".utf8))
            }
            let server = try await harness.acceptedServer(number: 1)

            try await eventually("server closes the anonymous connection") { server.log.closed }
            let serverLog = server.log
            #expect(!serverLog.opened)
            #expect(serverLog.received.isEmpty)
            let reason = try #require(serverLog.handshakeError, "closed with \(serverLog.closeError ?? "no error")").reason
            #expect(reason.contains("did not return a certificate"), "\(reason)")

            // With TLS 1.3 the client may believe its handshake finished; the server's alert ends it.
            try await eventually("client learns it was refused") { client.log.closed }
            let clientLog = client.log
            #expect(clientLog.received.isEmpty, "a refused client must never see an echo")
            #expect(clientLog.closeError != nil, "the refusal must reach the client as an error")
        }
    }

    @Test("A client from an unknown authority is refused: unable to get local issuer certificate")
    func clientFromUnknownAuthorityIsRefused() async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(try harness.pki.untrustedClient("intruder").tls) { channel in
                channel.write(Array("CONNECT\n\n\0".utf8))
            }
            let server = try await harness.acceptedServer(number: 1)

            try await eventually("server refuses") { server.log.closed }
            let serverLog = server.log
            #expect(!serverLog.opened && serverLog.received.isEmpty)
            let reason = try #require(serverLog.handshakeError, "closed with \(serverLog.closeError ?? "no error")").reason
            #expect(reason.contains("certificate verification failed: unable to get local issuer certificate"), "\(reason)")

            try await eventually("client closed") { client.log.closed }
            #expect(client.log.received.isEmpty)
            #expect(client.log.closeError != nil)
        }
    }

    @Test("An expired client certificate is refused, and the reason says it has expired")
    func expiredClientCertificateIsRefused() async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(try harness.clientTLS(expired: true)) { channel in
                channel.write(Array("CONNECT\n\n\0".utf8))
            }
            let server = try await harness.acceptedServer(number: 1)

            try await eventually("server refuses") { server.log.closed }
            let serverLog = server.log
            #expect(!serverLog.opened && serverLog.received.isEmpty)
            let reason = try #require(serverLog.handshakeError, "closed with \(serverLog.closeError ?? "no error")").reason
            #expect(reason.contains("certificate has expired"), "\(reason)")

            try await eventually("client closed") { client.log.closed }
            #expect(client.log.received.isEmpty)
            #expect(client.log.closeError != nil)
        }
    }

    // MARK: The client checks the server

    @Test("A client that trusts a different authority rejects the server")
    func clientTrustingAnotherAuthorityRejectsServer() async throws {
        try await withTLSHarness { harness in
            let files = try harness.pki.client("langxia-town")
            // The broker's certificate is issued by Jinshan; this client trusts only Pinghu.
            let configuration = TLSConfiguration(certificatePath: files.certificate, privateKeyPath: files.key,
                                                 trustedAuthorityPaths: [harness.pki.pinghuAuthority])
            let client = try harness.connect(configuration) { channel in
                channel.write(Array("CONNECT\n\n\0".utf8))
            }
            try await eventually("client rejects the server") { client.log.closed }
            let clientLog = client.log
            #expect(!clientLog.opened)
            let reason = try #require(clientLog.handshakeError, "closed with \(clientLog.closeError ?? "no error")").reason
            // OpenSSL completes the broker's chain with the Jinshan root from its trust store, so the
            // client sees a root it does not trust in the chain (rather than a missing issuer).
            #expect(reason.contains("certificate verification failed: self-signed certificate in certificate chain")
                    || reason.contains("certificate verification failed: unable to get local issuer certificate"),
                    "\(reason)")

            let server = try await harness.acceptedServer(number: 1)
            try await eventually("server side closed too") { server.log.closed }
            #expect(!server.log.opened, "the server must not accept a session the client aborted")
            #expect(server.log.received.isEmpty)
        }
    }

    @Test("The client accepts the server under every name its certificate carries",
          arguments: ["127.0.0.1", "localhost"])
    func matchingServerNameIsAccepted(serverName: String) async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(try harness.clientTLS(), serverName: serverName)
            try await eventually("client open") { client.log.opened || client.log.closed }
            #expect(client.log.opened, "refused with \(client.log.closeError ?? "")")
        }
    }

    @Test("The client rejects a server whose certificate does not name it",
          arguments: ["broker.example", "127.0.0.2"])
    func mismatchedServerNameIsRejected(serverName: String) async throws {
        try await withTLSHarness { harness in
            let client = try harness.connect(try harness.clientTLS(), serverName: serverName) { channel in
                channel.write(Array("CONNECT\n\n\0".utf8))
            }
            try await eventually("client rejects the server") { client.log.closed }
            let clientLog = client.log
            #expect(!clientLog.opened && clientLog.received.isEmpty)
            let reason = try #require(clientLog.handshakeError, "closed with \(clientLog.closeError ?? "no error")").reason
            #expect(reason.contains("certificate verification failed"), "\(reason)")
            #expect(reason.contains("mismatch"), "\(reason)")

            let server = try await harness.acceptedServer(number: 1)
            try await eventually("server side closed") { server.log.closed }
            #expect(!server.log.opened && server.log.received.isEmpty)
        }
    }

    @Test("A server name that looks like an IP address but is not one is refused before connecting")
    func malformedServerAddressIsRefused() async throws {
        try await withTLSHarness { harness in
            let error = #expect(throws: OpenSSLError.self) {
                try harness.connect(try harness.clientTLS(), serverName: "999.1.1.1")
            }
            #expect(error?.operation.contains("999.1.1.1") == true, "\(String(describing: error))")
            #expect(harness.servers.allSatisfy { !$0.log.opened }, "no session may open for a refused name")
        }
    }

    // MARK: Protocol version

    @Test("TLS 1.3 is negotiated by default; a client capped at 1.2 gets 1.2")
    func tls13IsNegotiatedByDefault() async throws {
        try await withTLSHarness { harness in
            let modern = try harness.connect(try harness.clientTLS())
            let firstServer = try await harness.acceptedServer(number: 1)
            try await eventually("default handshake") { modern.log.opened && firstServer.log.opened }
            #expect(modern.log.protocolVersion == "TLSv1.3")
            #expect(firstServer.log.protocolVersion == "TLSv1.3")

            // Control: the probe does tell versions apart, and the broker still accepts 1.2.
            var capped = try harness.clientTLS()
            capped.maximumVersion = .tls12
            let old = try harness.connect(capped)
            let secondServer = try await harness.acceptedServer(number: 2)
            try await eventually("TLS 1.2 handshake") { (old.log.opened && secondServer.log.opened) || old.log.closed }
            #expect(old.log.protocolVersion == "TLSv1.2")
            #expect(secondServer.log.protocolVersion == "TLSv1.2")
            #expect(secondServer.log.peerCertificate?.uriNames == ["muster://jinshan/langxia-town"])
        }
    }

    // MARK: Stalled peers

    @Test("A peer that connects and sends nothing neither delays others nor outlives the handshake timeout")
    func stalledPeerIsTimedOutWithoutDelayingOthers() async throws {
        let timeout = Duration.milliseconds(2000)
        // Every server channel on one loop: a blocking handshake would hold up the other client.
        try await withTLSHarness(handshakeTimeout: timeout, pinServerChannels: true) { harness in
            let stalled = try RawTCPClient(port: harness.port)
            let stalledServer = try await harness.acceptedServer(number: 1)

            let message = Array("ping".utf8)
            let client = try harness.connect(try harness.clientTLS()) { $0.write(message) }
            let server = try await harness.acceptedServer(number: 2)
            #expect(server.channel.loop === stalledServer.channel.loop)
            try await eventually("the other client's echo") { client.log.received.count >= message.count || client.log.closed }
            #expect(client.log.received == message)
            #expect(!stalledServer.log.closed, "the other client finished only after the stalled peer was dropped")

            try await eventually("the stalled connection is dropped") { stalledServer.log.closed }
            let stalledLog = stalledServer.log
            #expect(!stalledLog.opened)
            // Dropped by its own handshake timeout (not by an error, nor by another timeout), and
            // not before it ran out (a lower bound: a loaded machine can only make it later).
            let reason = try #require(stalledLog.handshakeError, "closed with \(stalledLog.closeError ?? "no error")").reason
            #expect(reason == "no handshake within \(timeout)", "\(reason)")
            let lived = try #require(stalledLog.closedAt) - stalledServer.startedAt
            #expect(lived >= timeout, "dropped after \(lived), before the \(timeout) timeout")
            try await eventually("the stalled peer sees its socket closed") { stalled.peerHasClosed }

            // The timeout applies to handshakes only: the established connection is still served after
            // a tick well past its own handshake deadline.
            let pastOwnDeadline = server.startedAt + timeout + EventLoop.tickInterval
            try await eventually("a tick past the open connection's own deadline") {
                (server.log.lastTick.map { $0 > pastOwnDeadline } ?? false) || server.log.closed
            }
            #expect(!server.log.closed && !client.log.closed, "\(server.log.closeError ?? "")")
            client.channel.write(Array("pong".utf8))
            try await eventually("second echo") { client.log.received.count >= 8 || client.log.closed }
            #expect(client.log.received == Array("pingpong".utf8))
        }
    }

    @Test("A client whose server never answers the handshake gives up after its handshake timeout")
    func clientHandshakeTimesOutAgainstSilentServer() async throws {
        try await withTLSHarness { harness in
            // A listening socket that nobody accepts from: TCP connects, TLS never answers.
            let silent = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
            defer { close(silent) }
            let silentPort = try Socket.localPort(silent)
            let timeout = Duration.milliseconds(500)
            let client = try harness.connect(try harness.clientTLS(), handshakeTimeout: timeout, port: silentPort)
            try await eventually("client gives up") { client.log.closed }
            let log = client.log
            #expect(!log.opened)
            // Its own handshake timeout ended it, not before it ran out (a lower bound only).
            let reason = try #require(log.handshakeError, "closed with \(log.closeError ?? "no error")").reason
            #expect(reason == "no handshake within \(timeout)", "\(reason)")
            let lived = try #require(log.closedAt) - client.startedAt
            #expect(lived >= timeout, "gave up after \(lived), before the \(timeout) timeout")
        }
    }
}
