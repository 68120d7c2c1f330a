public import Foundation
import Glibc

/// One run of a program: how it ended, and what it wrote to standard output and error
/// (apart, and together in the order it came).
public struct ProgramRun: Sendable, CustomStringConvertible {
    /// The program's name and its arguments.
    public let arguments: [String]
    public let status: Int32
    /// The signal that ended it, unless it was the test's own kill at the timeout.
    public let signal: Int32?
    /// It was still running at the timeout and was killed.
    public let timedOut: Bool
    public let stdout: String
    public let stderr: String
    /// Standard output and error together, in the order they were read.
    public let output: String

    /// Ended by itself with status 0.
    public var succeeded: Bool { status == 0 && signal == nil && !timedOut }

    public var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    public var description: String {
        let ending = timedOut ? "did not end in time (killed)" : signal.map { "was killed by signal \($0)" } ?? "exited \(status)"
        return "`\(arguments.joined(separator: " "))` \(ending)\n--- stdout ---\n\(stdout)\n--- stderr ---\n\(stderr)"
    }
}

/// A program the test started and may talk to while it runs (its standard input stays open
/// until `closeInput` or `finish`). Both output streams are read by threads of their own, so
/// a chatty program never blocks on a full pipe.
public final class RunningProgram: @unchecked Sendable {
    private let process: Process
    private let input: Pipe
    private let name: [String]
    /// Guards everything below; signalled on every change.
    private let condition = NSCondition()
    private var stdout = Data()
    private var stderr = Data()
    private var combined = Data()
    private var openStreams = 2
    private var killedAtTimeout = false

    /// Starts `executable` (a path, or a name looked up in PATH) with the test's environment
    /// less `removingEnvironment`, plus `environment`, in `directory`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                removingEnvironment: [String] = [], directory: String? = nil) throws {
        process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        name = [URL(fileURLWithPath: executable).lastPathComponent] + arguments
        var variables = ProcessInfo.processInfo.environment
        for variable in removingEnvironment { variables[variable] = nil }
        variables.merge(environment) { $1 }
        process.environment = variables
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        input = Pipe()
        let output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        process.terminationHandler = { [condition] _ in
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
        try process.run()
        for (pipe, isOutput) in [(output, true), (errors, false)] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    condition.lock()
                    if data.isEmpty {
                        openStreams -= 1
                    } else {
                        if isOutput { stdout.append(data) } else { stderr.append(data) }
                        combined.append(data)
                    }
                    condition.broadcast()
                    condition.unlock()
                    if data.isEmpty { break }
                }
            }
        }
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    public var isRunning: Bool { process.isRunning }

    /// Standard output and error so far, together.
    public var output: String { condition.withLock { String(decoding: combined, as: UTF8.self) } }

    public func write(_ text: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    public func writeLine(_ line: String) { write(line + "\n") }

    public func closeInput() { try? input.fileHandleForWriting.close() }

    /// Waits (off the cooperative pool) until the output contains `marker` (true), or the
    /// output ends or `timeout` passes (false).
    public func waitForOutput(containing marker: String, timeout: Duration = .seconds(60)) async -> Bool {
        await runBlocking { [self] in blockUntilOutput(containing: marker, timeout: timeout) }
    }

    /// `waitForOutput`, blocking the calling thread (for code that is not async).
    public func blockUntilOutput(containing marker: String, timeout: Duration) -> Bool {
        let deadline = Date() + timeout.timeInterval
        condition.lock()
        defer { condition.unlock() }
        while true {
            if String(decoding: combined, as: UTF8.self).contains(marker) { return true }
            if openStreams == 0 || !condition.wait(until: deadline) { return false }
        }
    }

    /// Sends `signal` if it still runs.
    public func send(signal: Int32) {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
    }

    /// Blocks until it has ended; its exit status (or the signal that ended it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Closes its standard input and waits (off the cooperative pool) for it to end; one still
    /// running at `timeout` gets SIGTERM, then SIGKILL (a timeout only turns a hang into a failure).
    public func finish(timeout: Duration = .seconds(120)) async -> ProgramRun {
        closeInput()
        return await runBlocking { [self] in waitForEnd(timeout: timeout) }
    }

    /// Sends SIGTERM if it still runs.
    public func terminate() {
        if process.isRunning { process.terminate() }
    }

    private func waitForEnd(timeout: Duration) -> ProgramRun {
        let deadline = Date() + timeout.timeInterval
        condition.lock()
        while process.isRunning {
            if Date() >= deadline {
                killedAtTimeout = true
                condition.unlock()
                process.terminate()
                let grace = Date() + 5
                while process.isRunning && Date() < grace { usleep(10_000) }
                if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
                process.waitUntilExit()
                condition.lock()
                break
            }
            _ = condition.wait(until: min(deadline, Date() + 0.1))
        }
        // It ended, so its output ends too (unless a process it started still holds the pipes).
        let drained = Date() + 5
        while openStreams > 0 && condition.wait(until: drained) {}
        let run = ProgramRun(arguments: name, status: 0, signal: nil, timedOut: killedAtTimeout,
                             stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
                             output: String(decoding: combined, as: UTF8.self))
        condition.unlock()
        process.waitUntilExit()
        let signalled = process.terminationReason == .uncaughtSignal && !run.timedOut
        return ProgramRun(arguments: run.arguments, status: process.terminationStatus, signal: signalled ? process.terminationStatus : nil,
                          timedOut: run.timedOut, stdout: run.stdout, stderr: run.stderr, output: run.output)
    }
}

/// Runs a program to its end (see `RunningProgram`), feeding it `input` on standard input.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       removingEnvironment: [String] = [], directory: String? = nil, input: String = "",
                       timeout: Duration = .seconds(120)) async throws -> ProgramRun {
    let program = try RunningProgram(executable, arguments, environment: environment, removingEnvironment: removingEnvironment,
                                     directory: directory)
    if !input.isEmpty { program.write(input) }
    return await program.finish(timeout: timeout)
}

/// Runs the `muster` binary the tests use. Its connection never comes from the test's own
/// MUSTER_SERVER, MUSTER_CERT, MUSTER_KEY or MUSTER_CA; `environment` may set them.
public func runMuster(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                      timeout: Duration = .seconds(120)) async throws -> ProgramRun {
    try await runProcess(BrokerProcess.musterExecutable(), arguments, environment: environment,
                         removingEnvironment: ["MUSTER_SERVER", "MUSTER_CERT", "MUSTER_KEY", "MUSTER_CA", BrokerClock.environmentVariable],
                         directory: directory, timeout: timeout)
}

/// Runs blocking work (a process wait, a raw client's reads) on a thread of its own: blocking
/// one of the few cooperative threads would stall every other test running in parallel.
public func runBlocking<Value: Sendable, Failure: Error>(_ body: @escaping @Sendable () throws(Failure) -> Value) async throws(Failure) -> Value {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Value, Failure>, Never>) in
        Thread.detachNewThread {
            do throws(Failure) { continuation.resume(returning: .success(try body())) } catch { continuation.resume(returning: .failure(error)) }
        }
    }
    return try result.get()
}

extension Duration {
    /// The duration in seconds.
    public var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
