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

/// `eventually` for a test that must not leave its thread between its steps (what happens
/// within milliseconds on the calling thread): blocks the thread, polling every `interval`.
public func eventuallyBlocking(timeout: Duration = .seconds(15), _ what: String, pollingEvery interval: Duration = .microseconds(200),
                               recordIssue: Bool = true, sourceLocation: SourceLocation = #_sourceLocation,
                               _ condition: () -> Bool) throws {
    if !poll(until: ContinuousClock.now + timeout, every: interval, condition) {
        try timedOut(what, timeout, recordIssue: recordIssue, sourceLocation: sourceLocation)
    }
}

private func poll(until deadline: ContinuousClock.Instant, every interval: Duration, _ condition: () -> Bool) -> Bool {
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        Thread.sleep(forTimeInterval: interval.timeInterval)
    }
    return true
}

private func timedOut(_ what: String, _ timeout: Duration, recordIssue: Bool, sourceLocation: SourceLocation) throws -> Never {
    let failure = ConditionTimedOut(what: what, timeout: timeout)
    if recordIssue { Issue.record(Comment(rawValue: failure.description), sourceLocation: sourceLocation) }
    throw failure
}
