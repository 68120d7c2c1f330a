import Foundation

/// Replaces a small file so that a crash leaves either the old contents or the new ones:
/// written beside it, synced, renamed over it, and the directory synced.
enum DurableFile {
    static func replace(_ path: String, with data: Data) throws(ConfigurationError) {
        let temporary = path + ".new"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw ConfigurationError(file: temporary, key: "", problem: "cannot be written (\(String(cString: strerror(errno))))")
        }
        try sync(temporary)
        guard rename(temporary, path) == 0 else {
            throw ConfigurationError(file: path, key: "", problem: "cannot be replaced (\(String(cString: strerror(errno))))")
        }
        try sync((path as NSString).deletingLastPathComponent)
    }

    private static func sync(_ path: String) throws(ConfigurationError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ConfigurationError(file: path, key: "", problem: "cannot be opened to sync (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw ConfigurationError(file: path, key: "", problem: "cannot be synced (\(String(cString: strerror(errno))))") }
    }
}
