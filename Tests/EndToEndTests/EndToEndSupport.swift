import Foundation
import MusterClient
import MusterTestSupport
import Testing

/// Runs `body` against a fresh `muster serve` process and stops it afterwards. `topics` is
/// its topics file (default: every destination open to every party).
func withBroker<Result: Sendable>(settings: String = "", topics: String = BrokerProcess.openTopics,
                                  _ body: (BrokerProcess) async throws -> Result) async throws -> Result {
    let broker = try BrokerProcess.start(settings: settings, topics: topics)
    do {
        let result = try await body(broker)
        broker.stop()
        return result
    } catch {
        Issue.record("broker output:\n\(broker.log)")
        broker.stop()
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

/// Polls `condition` until it holds (for effects visible only in the broker's log).
func eventually(timeout: Duration = .seconds(15), _ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Runs blocking work (a raw client's reads, a script) on its own thread, off the cooperative pool.
func runBlocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Swift.Result { try body() }) }
    }
}

/// Runs the `muster` binary the broker tests use, with `arguments`; its exit status and output.
func runMuster(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try runProcess(BrokerProcess.musterExecutable(), arguments)
}

/// Runs a program to its end; its exit status and its standard output and error together.
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs blocking work on its own thread, off the cooperative pool.
func onThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}

/// Runs a script of Tests/EndToEndTests/Interop with MUSTER_PYTHON (else python3).
func runPythonScript(_ name: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Interop/\(name)").path
    return try runProcess("/usr/bin/env", [ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3", script] + arguments)
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
