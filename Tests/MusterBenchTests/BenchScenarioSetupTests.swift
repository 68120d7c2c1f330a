@testable import MusterBench
import MusterNet
import MusterStomp
import Testing

/// What a scenario settles before it opens a connection: the CONNECT frame, how many
/// deliveries a flow waits for, and which settings it refuses outright.
@Suite("bench scenario setup")
struct BenchScenarioSetupTests {
    /// A target nothing listens on, with certificate files that do not exist: a scenario that
    /// refuses its settings must do so before it touches either.
    static let nowhere = BenchTarget(
        address: SocketAddress(host: "127.0.0.1", port: 1),
        tls: TLSConfiguration(certificatePath: "/nonexistent/client.crt", privateKeyPath: "/nonexistent/client.key",
                              trustedAuthorityPaths: ["/nonexistent/ca.crt"]))

    // MARK: CONNECT

    @Test func connectAsksForStomp12WithoutHeartBeatsAndNamesTheHost() {
        let frame = Self.nowhere.connectFrame
        #expect(frame.command == .connect)
        #expect(frame.headers["accept-version"] == "1.2")
        #expect(frame.headers["heart-beat"] == "0,0")
        #expect(frame.headers["host"] == "127.0.0.1")
        #expect(frame.headers["login"] == nil)
        #expect(frame.headers["passcode"] == nil)
    }

    @Test func connectCarriesLoginPasscodeAndVirtualHostWhenGiven() {
        let target = BenchTarget(address: SocketAddress(host: "10.0.0.5", port: 61614), tls: Self.nowhere.tls,
                                 login: "guest", passcode: "secret", virtualHost: "/")
        let frame = target.connectFrame
        #expect(frame.headers["login"] == "guest")
        #expect(frame.headers["passcode"] == "secret")
        #expect(frame.headers["host"] == "/")
    }

    @Test func theServerNameDefaultsToTheHost() {
        #expect(Self.nowhere.serverName == "127.0.0.1")
        let named = BenchTarget(address: SocketAddress(host: "127.0.0.1", port: 1), serverName: "broker.jinshan.example",
                                tls: Self.nowhere.tls)
        #expect(named.serverName == "broker.jinshan.example")
    }

    // MARK: Expected deliveries

    @Test func endToEndWaitsForEveryMessageOnce() {
        let flow = FlowScenario(shape: .endToEnd, destination: "/queue/q", messages: 1000, bodySize: 16, publishers: 2,
                                subscribers: 3, ackMode: "auto", receiptEvery: 100, outstanding: 16)
        #expect(flow.expectedDeliveries == 1000)
    }

    @Test func fanoutWaitsForEveryMessageAtEverySubscriber() {
        let flow = FlowScenario(shape: .fanout, destination: "/topic/t", messages: 300, bodySize: 16, publishers: 1,
                                subscribers: 3, ackMode: "auto", receiptEvery: 100, outstanding: 16)
        #expect(flow.expectedDeliveries == 900)
    }

    @Test func theShapesAreNamedAsTheSubcommands() {
        #expect(FlowScenario.Shape.endToEnd.rawValue == "end-to-end")
        #expect(FlowScenario.Shape.fanout.rawValue == "fanout")
    }

    @Test func theAckModesAreSTOMPs() {
        #expect(Subscriber.AckMode.allCases.map(\.rawValue) == ["auto", "client", "client-individual"])
    }

    // MARK: Refused settings

    @Test(arguments: [FlowScenario.Shape.endToEnd, .fanout])
    func aFlowWithAnUnknownAckModeIsRefusedNamingTheModes(shape: FlowScenario.Shape) {
        let flow = FlowScenario(shape: shape, destination: "/queue/q", messages: 10, bodySize: 16, publishers: 1,
                                subscribers: 1, ackMode: "bogus", receiptEvery: 1, outstanding: 1)
        Self.expectRefusal(naming: ["bogus", "auto", "client", "client-individual"]) {
            _ = try flow.run(against: Self.nowhere, showProgress: false)
        }
    }

    @Test func latencyWithAnUnknownAckModeIsRefusedNamingTheModes() {
        let latency = LatencyScenario(destination: "/queue/q", rate: 10, duration: 1, warmup: 0, bodySize: 64, ackMode: "individual")
        Self.expectRefusal(naming: ["individual", "auto", "client", "client-individual"]) {
            _ = try latency.run(against: Self.nowhere, showProgress: false)
        }
    }

    @Test(arguments: [(0, 1.0, 64), (-5, 1.0, 64), (100, 0.0, 64), (100, -1.0, 64), (100, 1.0, 19), (100, 1.0, 0)])
    func latencyRefusesAZeroRateOrDurationAndABodyTooShortForTheStamp(rate: Int, duration: Double, size: Int) {
        let latency = LatencyScenario(destination: "/queue/q", rate: rate, duration: duration, warmup: 0, bodySize: size, ackMode: "auto")
        Self.expectRefusal(naming: ["--rate", "--duration", "--size", "20"]) {
            _ = try latency.run(against: Self.nowhere, showProgress: false)
        }
    }

    static func expectRefusal(naming fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
                              _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a refusal", sourceLocation: sourceLocation)
        } catch let error as BenchError {
            for fragment in fragments {
                #expect(error.description.contains(fragment), "the refusal names \(fragment): \(error)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("expected a BenchError naming \(fragments), got \(error)", sourceLocation: sourceLocation)
        }
    }
}
