@testable import MusterClient
import MusterNet
import MusterStomp
import Testing

/// The client's values: options and their defaults, and what its errors say.
@Suite("client options and errors")
struct ClientValueTests {
    static let identity = ClientIdentity(certificatePath: "/certs/town.crt", privateKeyPath: "/certs/town.key",
                                         trustedAuthorityPaths: ["/certs/jinshan-ca.crt", "/certs/pinghu-ca.crt"])

    @Test func optionsDefaultToTheServersHostAsNameTenSecondBeatsAndTLS12() throws {
        let options = ClientOptions(server: try SocketAddress(parsing: "192.0.2.7:61614"), identity: Self.identity)
        #expect(options.serverName == "192.0.2.7")
        #expect(options.heartbeatSend == 10_000 && options.heartbeatWant == 10_000)
        #expect(options.connectTimeout == .seconds(10))
        #expect(options.receiptTimeout == .seconds(60))
        #expect(options.minimumTLSVersion == .tls12)
    }

    @Test func theTLSConfigurationCarriesTheIdentityAndTheMinimumVersion() throws {
        let options = ClientOptions(server: try SocketAddress(parsing: "127.0.0.1:61614"), serverName: "broker.jinshan",
                                    identity: Self.identity, minimumTLSVersion: .tls13)
        #expect(options.serverName == "broker.jinshan")
        let tls = options.tlsConfiguration
        #expect(tls.certificatePath == "/certs/town.crt")
        #expect(tls.privateKeyPath == "/certs/town.key")
        #expect(tls.trustedAuthorityPaths == ["/certs/jinshan-ca.crt", "/certs/pinghu-ca.crt"])
        #expect(tls.minimumVersion == .tls13)
    }

    @Test(arguments: [
        (MusterClientError.refused(code: "schema-violation", message: "/score must be at most 5", detail: ""),
         "the broker refused: /score must be at most 5 [schema-violation]"),
        (.refused(code: nil, message: "error", detail: "body"), "the broker refused: error"),
        (.transport("certificate verify failed"), "connection failed: certificate verify failed"),
        (.closed("the broker closed the connection"), "connection closed: the broker closed the connection"),
        (.timedOut("no RECEIPT for SEND within 60 seconds"), "timed out: no RECEIPT for SEND within 60 seconds"),
        (.invalidArgument("message m-1 has no ack header"), "message m-1 has no ack header"),
    ])
    func errorsSayWhatHappened(error: MusterClientError, text: String) {
        #expect(error.description == text)
    }

    @Test func onlyARefusalHasACode() {
        #expect(MusterClientError.refused(code: "not-authorized", message: "no", detail: "").code == "not-authorized")
        #expect(MusterClientError.refused(code: nil, message: "no", detail: "").code == nil)
        for error in [MusterClientError.transport("x"), .closed("x"), .timedOut("x"), .invalidArgument("x")] {
            #expect(error.code == nil, "\(error)")
        }
    }

    @Test func aReceivedMessageReadsTheBrokersHeaders() {
        let message = ReceivedMessage(frame: StompFrame(.message, headers: [
            "destination": "/queue/inbox.langxia-town", "subscription": "inbox", "message-id": "m-9", "ack": "a-9",
            "muster-sender": "joint-command", "muster-sender-jurisdiction": "jinshan", "redelivered": "true",
        ], text: "派单"))
        #expect(message.destination == "/queue/inbox.langxia-town")
        #expect(message.subscriptionID == "inbox" && message.messageID == "m-9" && message.ackID == "a-9")
        #expect(message.sender == "joint-command" && message.senderJurisdiction == "jinshan")
        #expect(message.redelivered)
        #expect(message.bodyText == "派单")
        #expect(ReceivedMessage(frame: StompFrame(.message)).ackID == nil, "an ack:auto message has no ack id")
    }
}
