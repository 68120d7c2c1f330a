import Glibc

/// A certificate or key file that could not be read, written or used.
public struct CertificateFileError: Error, CustomStringConvertible, Sendable {
    /// The file (or directory) concerned.
    public let path: String
    /// What was being attempted, e.g. "read the CA certificate".
    public let action: String
    /// Why it failed: the system's text for `errno`, or a description of the content problem.
    public let reason: String
    /// The errno of the failed system call, if one failed.
    public let errno: Int32?
    /// What to do about it.
    public let remedy: String

    public init(path: String, action: String, reason: String, errno: Int32? = nil, remedy: String) {
        self.path = path
        self.action = action
        self.reason = reason
        self.errno = errno
        self.remedy = remedy
    }

    /// An error for a failed system call, with a remedy chosen from its errno.
    init(path: String, action: String, errno code: Int32) {
        self.init(path: path, action: action, reason: String(cString: strerror(code)), errno: code,
                  remedy: Self.remedy(for: code))
    }

    public var description: String {
        let code = errno.map { " (errno \($0))" } ?? ""
        return "cannot \(action) \(path): \(reason)\(code). \(remedy)"
    }

    private static func remedy(for code: Int32) -> String {
        switch code {
        case ENOENT: "Check that the path is right and the file or its directory exists."
        case EACCES, EPERM: "Check the owner and permissions of the file and its directories."
        case ENOTDIR: "A component of the path is a file, not a directory; choose another path."
        case EISDIR: "The path is a directory; give a file path."
        case EROFS: "The file system is read-only; choose a writable location."
        case ENOSPC, EDQUOT: "The disk or quota is full; free space or choose another location."
        default: "Check the path and the file system."
        }
    }
}
