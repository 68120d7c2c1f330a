import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// Runs `body` against a fresh `muster serve` process and stops it afterwards. `topics` is
/// its topics file (default: every destination open to every party); `clock` its clock.
func withBroker<Result: Sendable>(settings: String = "", topics: String = BrokerProcess.openTopics, clock: BrokerClock = .wall,
                                  _ body: (BrokerProcess) async throws -> Result) async throws -> Result {
    // On a thread of its own: a start blocks until the broker listens (seconds under load), and a
    // blocked thread of the test runner's small pool would hold up every other test's awaits.
    let broker = try await runBlocking { try BrokerProcess.start(settings: settings, topics: topics, clock: clock) }
    do {
        let result = try await body(broker)
        _ = await runBlocking { broker.stop() }
        return result
    } catch {
        Issue.record("broker output:\n\(broker.log)")
        _ = await runBlocking { broker.stop() }
        throw error
    }
}

struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation` with a deadline (a deadline only turns a hang into a failure).
func within<Result: Sendable>(_ timeout: Duration = .seconds(15), _ what: String,
                              _ operation: @escaping @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut(what: what)
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}

extension MessageSubscription {
    /// The next `count` messages, failing after `timeout`.
    func take(_ count: Int, timeout: Duration = .seconds(15)) async throws -> [ReceivedMessage] {
        let subscription = self
        return try await within(timeout, "\(count) message(s) on \(destination)") {
            var messages: [ReceivedMessage] = []
            for try await message in subscription {
                messages.append(message)
                if messages.count == count { break }
            }
            return messages
        }
    }
}

/// Expects `body` to be refused with `code`, its message naming every fragment. A refusal
/// closes the connection (Schemas/protocol.md, Errors), so `body` opens its own.
func expectRefusal(_ code: String, containing fragments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
                   _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected a \(code) refusal", sourceLocation: sourceLocation)
    } catch let error as MusterClientError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect("\(error)".contains(fragment), "the refusal names \(fragment): \(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a \(code) refusal, got \(error)", sourceLocation: sourceLocation)
    }
}

/// A raw STOMP client of `party`, connected with STOMP 1.2 (CONNECTED received).
func connectedRawClient(_ broker: BrokerProcess, _ party: String) async throws -> RawStompClient {
    let files = try broker.pki.client(party)
    let client = try await runBlocking { try RawStompClient(address: broker.address, tls: files.tls, loop: ReplayTests.loop) }
    try await runBlocking { try connect(client) }
    return client
}
