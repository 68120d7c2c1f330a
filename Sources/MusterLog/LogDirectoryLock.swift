import Glibc

/// One writer per log: an exclusive `flock` on `log/lock`, held by the broker (or `muster log
/// repair`) for as long as it may change the log. The kernel drops it when the process ends, even
/// by SIGKILL, so a crash never leaves a stale lock behind; a process id file could.
public final class LogDirectoryLock: Sendable {
    public static let fileName = "lock"
    private let descriptor: Int32

    /// Takes the lock or throws `.locked`, naming the holder when it wrote its id. Another
    /// process's lock is refused at once. This process's own is waited for a moment: a child
    /// this process is starting holds a copy of every descriptor until it executes its program
    /// (close-on-exec), so a log this process just closed can look locked for that long.
    public init(logDirectory: String) throws(LogError) {
        try LogFile.makeDirectories(logDirectory)
        let path = logDirectory + "/" + Self.fileName
        let descriptor = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw LogError.io(operation: "open", path: path, errno: errno) }
        var attempts = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder = Self.holder(descriptor)
            attempts += 1
            if code == EWOULDBLOCK, holder == getpid(), attempts < 200 {
                usleep(5_000)
                continue
            }
            Glibc.close(descriptor)
            if code == EWOULDBLOCK { throw LogError.locked(directory: logDirectory, holder: holder) }
            throw LogError.io(operation: "flock", path: path, errno: code)
        }
        // The holder's process id, for the message a second opener reads; the lock is the flock.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    private static func holder(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).filter(\.isNumber))
    }
}
