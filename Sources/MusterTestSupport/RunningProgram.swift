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
/// a chatty program never blocks on a full pipe, and a thread of its own waits for it to end.
///
/// It is spawned with posix_spawn, not Foundation's Process: every descriptor the test holds
/// is closed in the child (Foundation's Process closes only those open when it looked, so a
/// program started at the same moment by another test could inherit this one's pipes and
/// keep them open, and Foundation's run-loop watch for the end could then wait forever).
public final class RunningProgram: @unchecked Sendable {
    private let pid: pid_t
    private let name: [String]
    /// Guards everything below; signalled on every change.
    private let condition = NSCondition()
    private var input: Int32
    private var stdout: [UInt8] = []
    private var stderr: [UInt8] = []
    private var combined: [UInt8] = []
    private var openStreams = 2
    /// The status waitpid reported, once it has ended.
    private var waitStatus: Int32?
    private var killedAtTimeout = false

    /// Starts `executable` (a path, or a name looked up in PATH) with the test's environment
    /// less `removingEnvironment`, plus `environment`, in `directory`.
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                removingEnvironment: [String] = [], directory: String? = nil) throws {
        _ = Self.ignoreBrokenPipe
        name = [(executable as NSString).lastPathComponent] + arguments
        var variables = ProcessInfo.processInfo.environment
        for variable in removingEnvironment { variables[variable] = nil }
        variables.merge(environment) { $1 }
        // GNU env changes into the directory, then runs the program (looked up in PATH).
        let command = directory.map { ["/usr/bin/env", "-C", $0, executable] + arguments } ?? [executable] + arguments

        var inputPipe: [Int32] = [-1, -1], outputPipe: [Int32] = [-1, -1], errorPipe: [Int32] = [-1, -1]
        guard Self.pipe2(&inputPipe, O_CLOEXEC) == 0, Self.pipe2(&outputPipe, O_CLOEXEC) == 0,
              Self.pipe2(&errorPipe, O_CLOEXEC) == 0 else {
            let error = errno
            for descriptor in inputPipe + outputPipe + errorPipe where descriptor >= 0 { close(descriptor) }
            throw SpawnError(program: executable, errno: error)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inputPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        if let addCloseFrom = Self.addCloseFrom { _ = addCloseFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)  // not the spawning thread's mask
        posix_spawnattr_setpgroup(&attributes, 0)  // its own process group, as Foundation's Process does
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let result = command[0].contains("/")
            ? posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
        close(inputPipe[0])
        close(outputPipe[1])
        close(errorPipe[1])
        guard result == 0 else {
            close(inputPipe[1])
            close(outputPipe[0])
            close(errorPipe[0])
            throw SpawnError(program: executable, errno: result)
        }
        let spawned = pid
        self.pid = spawned
        input = inputPipe[1]
        for (descriptor, isOutput) in [(outputPipe[0], true), (errorPipe[0], false)] {
            Thread.detachNewThread { [self] in read(descriptor, isOutput: isOutput) }
        }
        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(spawned, &status, 0) } while reaped == -1 && errno == EINTR
            condition.withLock {
                waitStatus = reaped == spawned ? status : 0
                condition.broadcast()
            }
        }
    }

    deinit {
        if input >= 0 { close(input) }
    }

    /// Reads one output stream to its end.
    private func read(_ descriptor: Int32, isOutput: Bool) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            condition.lock()
            if count > 0 {
                if isOutput { stdout += buffer[0..<count] } else { stderr += buffer[0..<count] }
                combined += buffer[0..<count]
            } else {
                openStreams -= 1
            }
            condition.broadcast()
            condition.unlock()
            if count <= 0 { break }
        }
        close(descriptor)
    }

    public var processIdentifier: Int32 { pid }

    public var isRunning: Bool { condition.withLock { waitStatus == nil } }

    /// Standard output and error so far, together.
    public var output: String { condition.withLock { String(decoding: combined, as: UTF8.self) } }

    public func write(_ text: String) {
        condition.withLock {
            guard input >= 0 else { return }
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }  // it closed its standard input or ended
                bytes = bytes.dropFirst(written)
            }
        }
    }

    public func writeLine(_ line: String) { write(line + "\n") }

    public func closeInput() {
        condition.withLock {
            if input >= 0 { close(input) }
            input = -1
        }
    }

    /// Waits (off the cooperative pool) until the output contains `marker` (true), or the
    /// output ends or `timeout` passes (false).
    public func waitForOutput(containing marker: String, timeout: Duration = .seconds(60)) async -> Bool {
        await runBlocking { [self] in blockUntilOutput(containing: marker, timeout: timeout) }
    }

    /// `waitForOutput`, blocking the calling thread (for code that is not async).
    public func blockUntilOutput(containing marker: String, timeout: Duration) -> Bool {
        let deadline = Date() + timeout.timeInterval
        let wanted = Array(marker.utf8)
        condition.lock()
        defer { condition.unlock() }
        var searchedUpTo = 0
        while true {
            // Only the new bytes (and a marker's length before them) need looking at.
            let from = max(0, searchedUpTo - wanted.count)
            if combined.count >= wanted.count, combined[from...].firstRange(of: wanted) != nil { return true }
            searchedUpTo = combined.count
            if openStreams == 0 || !condition.wait(until: deadline) { return false }
        }
    }

    /// Sends `signal` if it still runs.
    public func send(signal: Int32) {
        condition.withLock {
            if waitStatus == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Blocks until it has ended; its exit status (or the signal that ended it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        condition.withLock {
            while waitStatus == nil { condition.wait() }
            return Self.describe(waitStatus!).status
        }
    }

    /// Closes its standard input and waits (off the cooperative pool) for it to end; one still
    /// running at `timeout` gets SIGTERM, then SIGKILL (a timeout only turns a hang into a failure).
    public func finish(timeout: Duration = .seconds(120)) async -> ProgramRun {
        closeInput()
        return await runBlocking { [self] in waitForEnd(timeout: timeout) }
    }

    /// Sends SIGTERM if it still runs.
    public func terminate() { send(signal: SIGTERM) }

    private func waitForEnd(timeout: Duration) -> ProgramRun {
        let deadline = Date() + timeout.timeInterval
        condition.lock()
        while waitStatus == nil && condition.wait(until: deadline) {}
        if waitStatus == nil {
            killedAtTimeout = true
            _ = Glibc.kill(pid, SIGTERM)
            let grace = Date() + 5
            while waitStatus == nil && condition.wait(until: grace) {}
            if waitStatus == nil { _ = Glibc.kill(pid, SIGKILL) }
            while waitStatus == nil { condition.wait() }
        }
        // It ended, so its output ends too (unless a process it started still holds the pipes).
        let drained = Date() + 5
        while openStreams > 0 && condition.wait(until: drained) {}
        let (status, signal) = Self.describe(waitStatus!)
        let run = ProgramRun(arguments: name, status: status, signal: killedAtTimeout ? nil : signal, timedOut: killedAtTimeout,
                             stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self),
                             output: String(decoding: combined, as: UTF8.self))
        condition.unlock()
        return run
    }

    /// The exit status, or the number of the signal that ended it (and that signal).
    private static func describe(_ status: Int32) -> (status: Int32, signal: Int32?) {
        let signal = status & 0x7f
        return signal == 0 ? ((status >> 8) & 0xff, nil) : (signal, signal)
    }

    /// posix_spawn_file_actions_addclosefrom_np (glibc 2.34), which Swift's Glibc module does not declare.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// pipe2 (descriptors that are close-on-exec from the start), which Swift's Glibc module does not declare.
    private static let pipe2: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32 = {
        unsafeBitCast(dlsym(nil, "pipe2")!, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }()

    /// A write to a program that has closed its standard input must fail, not end the tests.
    private static let ignoreBrokenPipe: Void = { signal(SIGPIPE, SIG_IGN) }()
}

/// A program that could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    public let program: String
    public let errno: Int32
    public var description: String { "cannot start \(program): \(String(cString: strerror(errno)))" }
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
