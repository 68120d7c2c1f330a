import Foundation
public import Testing

/// Thrown by `eventually` when its condition still does not hold at the timeout.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    public let what: String
    public let timeout: Duration
    public var description: String { "timed out after \(timeout) waiting for \(what)" }
}

/// Polls `condition` until it holds. When `timeout` passes first, records an issue naming
/// `what` at the caller's line (unless `recordIssue` is false) and throws `ConditionTimedOut`.
///
/// A test waits with this for what it can observe (a log line, a state, a message), never with
/// a bare sleep: a loaded machine only makes the wait longer, not the test wrong. The timeout
/// only turns a hang into a failure, so it is generous.
public func eventually(timeout: Duration = .seconds(15), _ what: String, pollingEvery interval: Duration = .milliseconds(10),
                       recordIssue: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
                       _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= deadline {
            let failure = ConditionTimedOut(what: what, timeout: timeout)
            if recordIssue { Issue.record(Comment(rawValue: failure.description), sourceLocation: sourceLocation) }
            throw failure
        }
        try await Task.sleep(for: interval)
    }
}

/// `eventually` for a state that lasts only milliseconds (a timer armed for a short window):
/// a thread of its own polls `condition` every `interval`, since a task's sleep can oversleep
/// such a window while the cooperative threads are busy with other tests.
public func eventuallyOnThread(timeout: Duration = .seconds(15), _ what: String, pollingEvery interval: Duration = .microseconds(200),
                               recordIssue: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
                               _ condition: @escaping @Sendable () -> Bool) async throws {
    let held = await runBlocking { () -> Bool in
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            Thread.sleep(forTimeInterval: interval.timeInterval)
        }
        return true
    }
    guard !held else { return }
    let failure = ConditionTimedOut(what: what, timeout: timeout)
    if recordIssue { Issue.record(Comment(rawValue: failure.description), sourceLocation: sourceLocation) }
    throw failure
}
