import MusterTestSupport

/// What one run of the `openssl` command-line tool printed.
struct OpenSSLToolResult: Sendable {
    let status: Int32
    let output: String
    let errors: String
}

/// Runs the `openssl` command-line tool (an independent check of what MusterNet produces),
/// feeding it `input` on standard input.
func runOpenSSL(_ arguments: [String], input: String = "") async throws -> OpenSSLToolResult {
    let run = try await runProcess("openssl", arguments, input: input)
    return OpenSSLToolResult(status: run.status, output: run.stdout, errors: run.stderr)
}
