/// Why a client operation failed.
public enum MusterClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broker refused with an ERROR frame: its `muster-error-code`, `message` and body.
    case refused(code: String?, message: String, detail: String)
    /// The TLS connection failed or was refused (for example: certificate not accepted).
    case transport(String)
    /// The connection is closed; nothing more can be sent on it.
    case closed(String)
    case timedOut(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .refused(let code, let message, _): return "the broker refused: \(message)\(code.map { " [\($0)]" } ?? "")"
        case .transport(let reason): return "connection failed: \(reason)"
        case .closed(let reason): return "connection closed: \(reason)"
        case .timedOut(let what): return "timed out: \(what)"
        case .invalidArgument(let what): return what
        }
    }

    /// The broker's error code, when the broker refused.
    public var code: String? {
        if case .refused(let code, _, _) = self { return code }
        return nil
    }
}
