import Glibc

/// A log file opened by descriptor: positioned reads and writes, syncs, truncation.
/// Errors name the operation and the path.
final class LogFile {
    let path: String
    let descriptor: Int32

    init(path: String, flags: Int32, mode: mode_t = 0o640) throws(LogError) {
        self.path = path
        let descriptor = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw LogError.io(operation: "open", path: path, errno: errno) }
        self.descriptor = descriptor
    }

    deinit { Glibc.close(descriptor) }

    var size: Int {
        get throws(LogError) {
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw LogError.io(operation: "fstat", path: path, errno: errno) }
            return Int(status.st_size)
        }
    }

    /// Allocates the blocks of `start..<end` (zero-filled, file size grows to `end`), so that a
    /// later write there changes no file size and fdatasync has less metadata to flush.
    /// False when the file system refuses (no space, a file size limit, no support).
    func preallocate(from start: Int, to end: Int) -> Bool {
        end > start && posix_fallocate(descriptor, off_t(start), off_t(end - start)) == 0
    }

    /// Writes all of `bytes` at `position`.
    func write(_ bytes: [UInt8], at position: Int) throws(LogError) {
        let failure: Int32? = bytes.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let result = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(position + written))
                if result < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += result
            }
            return nil
        }
        if let failure { throw LogError.io(operation: "write", path: path, errno: failure) }
    }

    /// Reads up to `count` bytes at `position` (fewer at the end of the file).
    func read(count: Int, at position: Int) throws(LogError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try read(into: &bytes, range: 0..<count, at: position)
        bytes.removeSubrange(got...)
        return bytes
    }

    /// Reads into `buffer[range]` from `position`; returns how many bytes arrived (0 at end of file).
    func read(into buffer: inout [UInt8], range: Range<Int>, at position: Int) throws(LogError) -> Int {
        let result: Result<Int, LogError> = buffer.withUnsafeMutableBytes { raw in
            let target = UnsafeMutableRawBufferPointer(rebasing: raw[range])
            var total = 0
            while total < target.count {
                let result = pread(descriptor, target.baseAddress! + total, target.count - total, off_t(position + total))
                if result < 0 {
                    if errno == EINTR { continue }
                    return .failure(LogError.io(operation: "read", path: path, errno: errno))
                }
                if result == 0 { break }
                total += result
            }
            return .success(total)
        }
        return try result.get()
    }

    /// Makes the written data durable (fdatasync: the size change is metadata it covers).
    func sync() throws(LogError) {
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            throw LogError.io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    func truncate(to size: Int) throws(LogError) {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw LogError.io(operation: "truncate", path: path, errno: errno) }
    }

    /// fsyncs a directory, so that a file created or removed in it survives a power cut.
    static func syncDirectory(_ path: String) throws(LogError) {
        let directory = try LogFile(path: path, flags: O_RDONLY | O_DIRECTORY)
        while fsync(directory.descriptor) != 0 {
            if errno == EINTR { continue }
            throw LogError.io(operation: "fsync directory", path: path, errno: errno)
        }
    }

    /// Creates a directory and its parents (like mkdir -p).
    static func makeDirectories(_ path: String) throws(LogError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o750) != 0 && errno != EEXIST {
                throw LogError.io(operation: "mkdir", path: current, errno: errno)
            }
        }
    }

    /// The names of the entries of a directory.
    static func list(_ path: String) throws(LogError) -> [String] {
        guard let stream = opendir(path) else { throw LogError.io(operation: "list", path: path, errno: errno) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

func fileExists(_ path: String, isDirectory: inout Bool) -> Bool {
    var status = stat()
    guard stat(path, &status) == 0 else { return false }
    isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
    return true
}
