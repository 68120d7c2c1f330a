import Foundation
import Synchronization

/// What one run of the `openssl` command-line tool printed.
struct OpenSSLToolResult: Sendable {
    let status: Int32
    let output: String
    let errors: String
}

/// Runs the `openssl` command-line tool (an independent check of what MusterNet produces),
/// feeding it `input` on standard input. The waiting happens on threads of its own: blocking
/// one of the few cooperative threads would stall every other test running in parallel
/// (and make their timing checks fail).
func runOpenSSL(_ arguments: [String], input: String = "") async throws -> OpenSSLToolResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            continuation.resume(with: Result { try runOpenSSLBlocking(arguments, input: input) })
        }.start()
    }
}

private func runOpenSSLBlocking(_ arguments: [String], input: String) throws -> OpenSSLToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    let output = Pipe()
    let errors = Pipe()
    let standardInput = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = standardInput
    try process.run()
    standardInput.fileHandleForWriting.write(Data(input.utf8))
    try standardInput.fileHandleForWriting.close()
    // Drain both pipes before waiting, so a chatty tool cannot block on a full pipe.
    let errorText = Mutex("")
    let errorsRead = DispatchSemaphore(value: 0)
    Thread {
        let data = errors.fileHandleForReading.readDataToEndOfFile()
        errorText.withLock { $0 = String(decoding: data, as: UTF8.self) }
        errorsRead.signal()
    }.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    errorsRead.wait()
    process.waitUntilExit()
    return OpenSSLToolResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                             errors: errorText.withLock { $0 })
}
