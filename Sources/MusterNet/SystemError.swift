import Glibc

/// A failed system call: its name, errno and the system's text for it.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var text: String { String(cString: strerror(errno)) }
    public var description: String { "\(call) failed: \(text) (errno \(errno))" }
}

/// The outcome of a non-blocking system call.
public enum SyscallOutcome<Value: Sendable>: Sendable {
    case done(Value)
    case wouldBlock
}

/// The one wrapper every system call goes through: retries EINTR, maps EAGAIN and
/// EWOULDBLOCK to `.wouldBlock`, and throws `SystemError` for everything else.
@discardableResult
public func syscall<Value: BinaryInteger & Sendable>(
    _ name: String, _ body: () -> Value
) throws(SystemError) -> SyscallOutcome<Value> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = Glibc.errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK || code == EINPROGRESS { return .wouldBlock }
        throw SystemError(call: name, errno: code)
    }
}

/// Like `syscall`, for calls that may not block (treats "would block" as an error).
@discardableResult
public func syscallValue<Value: BinaryInteger & Sendable>(
    _ name: String, _ body: () -> Value
) throws(SystemError) -> Value {
    switch try syscall(name, body) {
    case .done(let value): return value
    case .wouldBlock: throw SystemError(call: name, errno: EAGAIN)
    }
}
