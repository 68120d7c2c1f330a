import Foundation
import MusterClient
import MusterNet
import MusterStomp
import MusterTestSupport
import Testing

@Suite("heart-beats, malformed frames and refused certificates")
struct ConnectionHealthTests {
    static let fastHeartbeats = "heartbeat: {send-ms: 200, expect-ms: 200, tolerance: 2.0}"
    static let loop: EventLoop = {
        let loop = try! EventLoop(name: "raw-test-client")
        loop.start()
        return loop
    }()

    func rawClient(_ broker: BrokerProcess, party: String) throws -> RawStompClient {
        let files = try broker.pki.client(party)
        return try RawStompClient(address: broker.address, tls: files.tls, loop: Self.loop)
    }

    // The heart-beat tests measure intervals on the wall clock: they run in the timing pass.

    @Test(.tags(.timing)) func brokerSendsHeartbeatsAtTheNegotiatedInterval() async throws {
        try await withBroker(settings: Self.fastHeartbeats) { broker in
            let client = try rawClient(broker, party: "langxia-town")
            client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1", "heart-beat": "0,300"]))
            let connected = try #require(try client.nextFrame())
            #expect(connected.command == .connected)
            #expect(connected.headers["heart-beat"] == "300,0")
            // Nothing else is sent to this idle client except heart-beat newlines.
            let before = client.received.count
            #expect(client.waitForClose(timeout: 1.5) == false)
            let beats = client.received[before...]
            #expect(beats.count >= 2)
            #expect(beats.allSatisfy { $0 == 0x0A })
        }
    }

    @Test(.tags(.timing)) func silentClientIsDisconnectedWithAHeartbeatError() async throws {
        try await withBroker(settings: Self.fastHeartbeats) { broker in
            let client = try rawClient(broker, party: "langxia-town")
            client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1", "heart-beat": "200,0"]))
            #expect(try client.nextFrame()?.command == .connected)
            // The client promised a beat every 200 ms and sends none.
            let error = try #require(try client.nextFrame(timeout: 5))
            #expect(error.command == .error)
            #expect(error.headers["muster-error-code"] == "heartbeat-timeout")
            #expect(client.waitForClose(timeout: 5))
        }
    }

    @Test(.tags(.timing)) func clientHeartbeatsKeepAnIdleConnectionOpen() async throws {
        // The broker closes a connection silent for 3 × 750 ms; the client stays idle (sends
        // no frame) for longer than that, so only its heart-beats can keep the session. The
        // timing pass runs without the parallel tests, so a client's loop misses its CPU for
        // far less than the 2.25 s of silence the broker tolerates.
        try await withBroker(settings: "heartbeat: {send-ms: 750, expect-ms: 750, tolerance: 3.0}") { broker in
            var options = try broker.options(for: "langxia-town")
            options.heartbeatSend = 750
            options.heartbeatWant = 750
            let connection = try await MusterConnection.connect(options)
            #expect(connection.connectedHeaders["heart-beat"] == "750,750")
            let feed = try await connection.subscribe(to: "/topic/idle")
            try await Task.sleep(for: .seconds(3))  // the idle spell under test, not a wait for something
            try await connection.publish(to: "/topic/idle", text: "still here", receipt: true)
            #expect(try await feed.take(1).map(\.bodyText) == ["still here"])
        }
    }

    @Test func malformedFrameGetsAnErrorAndClosesOnlyItsOwnConnection() async throws {
        try await withBroker { broker in
            let bystander = try await broker.connect("jinshan-public-security")
            let feed = try await bystander.subscribe(to: "/topic/still-working")

            let client = try rawClient(broker, party: "langxia-town")
            client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1"]))
            #expect(try client.nextFrame()?.command == .connected)
            client.send(Array("SEND\ndestination:/topic/x\nbroken header without colon\n\nbody\0".utf8))
            let error = try #require(try client.nextFrame())
            #expect(error.command == .error)
            #expect(error.headers["muster-error-code"] == "malformed-frame")
            #expect(error.headers["message"]?.contains("broken header without colon") == true)
            #expect(client.waitForClose())

            try await bystander.publish(to: "/topic/still-working", text: "ok", receipt: true)
            #expect(try await feed.take(1).map(\.bodyText) == ["ok"])
            #expect(broker.isRunning)
        }
    }

    @Test func oversizeFrameIsRefusedWithFrameTooLarge() async throws {
        try await withBroker(settings: "limits: {max-body-bytes: 1024}") { broker in
            let client = try rawClient(broker, party: "langxia-town")
            client.send(StompFrame(.connect, headers: ["accept-version": "1.2", "host": "127.0.0.1"]))
            #expect(try client.nextFrame()?.command == .connected)
            client.send(StompFrame(.send, headers: ["destination": "/topic/x"], body: [UInt8](repeating: 65, count: 4096)))
            let error = try #require(try client.nextFrame())
            #expect(error.headers["muster-error-code"] == "frame-too-large")
            #expect(client.waitForClose())
        }
    }

    @Test func clientWithoutCertificateIsRefusedAndTheBrokerLogsWhy() async throws {
        try await withBroker { broker in
            let files = try broker.pki.client("langxia-town")
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: "", privateKeyPath: "", trustedAuthorityPaths: [files.authority]))
            await #expect(throws: MusterClientError.self) { _ = try await MusterConnection.connect(options) }
            try await eventually("the broker to log the refusal") { broker.log.contains("certificate") && broker.log.contains("TLS handshake") }
        }
    }

    @Test func clientFromAnUnknownAuthorityIsRefused() async throws {
        try await withBroker { broker in
            let stranger = try broker.pki.untrustedClient("langxia-town")
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: stranger.certificate, privateKeyPath: stranger.key, trustedAuthorityPaths: [stranger.authority]))
            await #expect(throws: MusterClientError.self) { _ = try await MusterConnection.connect(options) }
            try await eventually("the broker to log the verification failure") { broker.log.contains("unable to get local issuer certificate") }
        }
    }

    @Test func clientWithAnExpiredCertificateIsRefused() async throws {
        try await withBroker { broker in
            let expired = try broker.pki.client("langxia-town", expired: true)
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: expired.certificate, privateKeyPath: expired.key, trustedAuthorityPaths: [expired.authority]))
            await #expect(throws: MusterClientError.self) { _ = try await MusterConnection.connect(options) }
            try await eventually("the broker to log the expiry") { broker.log.contains("certificate has expired") }
        }
    }

    @Test func certificateWithoutAMusterIdentityIsRefusedAfterTheHandshake() async throws {
        try await withBroker { broker in
            let anonymous = try broker.pki.client("nobody", uriNames: [])
            let options = ClientOptions(server: broker.address, identity: ClientIdentity(
                certificatePath: anonymous.certificate, privateKeyPath: anonymous.key, trustedAuthorityPaths: [anonymous.authority]))
            do {
                _ = try await MusterConnection.connect(options)
                Issue.record("a certificate without muster:// URI must be refused")
            } catch let error as MusterClientError {
                #expect(error.code == "identity-refused")
            }
        }
    }
}
