import Glibc

/// File I/O for PEM files, with POSIX calls so failures carry errno.
enum CertificateFiles {
    /// Reads a whole (small) text file.
    static func read(_ path: String, what: String) throws(CertificateFileError) -> String {
        String(decoding: try readBytes(path, what: what), as: UTF8.self)
    }

    /// Reads a whole (small) file, text or binary (DER).
    static func readBytes(_ path: String, what: String) throws(CertificateFileError) -> [UInt8] {
        let action = "read the \(what)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CertificateFileError(path: path, action: action, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw CertificateFileError(path: path, action: action, errno: errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Replaces `path` with `text`, atomically: the data goes to a temporary file that is
    /// created with `mode` (never wider) in the same directory, then renamed over `path`.
    static func write(_ text: String, to path: String, mode: mode_t, what: String) throws(CertificateFileError) {
        let action = "write the \(what)"
        try createParentDirectories(of: path, action: action)
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0 ... .max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw CertificateFileError(path: path, action: action, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The umask may have narrowed `mode`; set it exactly (never wider than asked).
            guard fchmod(fd, mode) == 0 else { throw CertificateFileError(path: path, action: action, errno: errno) }
            try writeAll(Array(text.utf8), to: fd, path: path, action: action)
            guard fsync(fd) == 0 else { throw CertificateFileError(path: path, action: action, errno: errno) }
        }
        guard rename(temporary, path) == 0 else { throw CertificateFileError(path: path, action: action, errno: errno) }
        renamed = true
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String, action: String) throws(CertificateFileError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CertificateFileError(path: path, action: action, errno: errno)
            }
            offset += count
        }
    }

    /// `mkdir -p` of the directory holding `path` (new directories get 0755 minus the umask).
    private static func createParentDirectories(of path: String, action: String) throws(CertificateFileError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let directory = String(path[..<slash])
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw CertificateFileError(path: prefix, action: action, errno: ENOTDIR)
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw CertificateFileError(path: prefix, action: action, errno: errno)
            }
        }
    }
}
