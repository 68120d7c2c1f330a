import Foundation
import Glibc
import MusterBroker
import Synchronization

/// "Now" for every subcommand: the wall clock, unless MUSTER_TEST_CLOCK sets a faster one.
///
/// For tests only, so that workflow deadlines pass in seconds: "RATE" runs RATE times as fast
/// from the moment the process starts; "RATE,WALL_MS,READING_MS" reads READING_MS at wall
/// time WALL_MS (milliseconds since 1970) and runs RATE times as fast from there, so that every
/// process a test starts (a broker, its restart, the tool) reads the same clock; "@FILE" takes
/// the same text from FILE, read again whenever the file changes, so that a test can move the
/// clock of a running broker (and tell it to look, with a reload). It is not a configuration
/// setting: a production broker never has it.
enum CommandClock {
    static let variable = "MUSTER_TEST_CLOCK"

    struct Setting: Equatable {
        let rate: Double
        let wallAnchor: Int64
        let anchor: Int64

        /// nil for text that is not "RATE" or "RATE,WALL_MS,READING_MS" with RATE ≥ 1.
        init?(_ text: String, startedAt wall: Int64) {
            let fields = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard let rate = fields.first.flatMap({ Double($0) }), rate >= 1, rate <= 1_000_000 else { return nil }
            switch fields.count {
            case 1:
                (wallAnchor, anchor) = (wall, wall)
            case 3:
                guard let wallAnchor = Int64(fields[1]), let anchor = Int64(fields[2]) else { return nil }
                (self.wallAnchor, self.anchor) = (wallAnchor, anchor)
            default:
                return nil
            }
            self.rate = rate
        }

        func now(wall: Int64) -> Int64 { anchor + Int64((Double(wall - wallAnchor) * rate).rounded(.down)) }
    }

    /// Where the setting comes from: the variable's text, or a file read again when it changes.
    private enum Source {
        case fixed(Setting)
        case file(SettingFile)
    }

    /// A file that holds the setting, and what it held at the last look.
    private final class SettingFile: Sendable {
        let path: String
        let read: Mutex<(stamp: [Int], setting: Setting)>

        init(path: String, setting: Setting) {
            self.path = path
            read = Mutex((CommandClock.stamp(of: path), setting))
        }
    }

    private static let source: Source? = {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return nil }
        guard text.hasPrefix("@") else { return .fixed(parse(text, from: variable)) }
        let path = String(text.dropFirst())
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { refuse("\(variable): cannot read \(path)") }
        return .file(SettingFile(path: path, setting: parse(contents, from: path)))
    }()

    /// The setting now (a file is read again if it changed since the last look).
    static var setting: Setting? {
        switch source {
        case nil: return nil
        case .fixed(let setting): return setting
        case .file(let file):
            return file.read.withLock { read in
                let now = stamp(of: file.path)
                if now != read.stamp, let contents = try? String(contentsOfFile: file.path, encoding: .utf8),
                   let setting = Setting(contents, startedAt: WallClock.milliseconds()) {
                    read = (now, setting)
                }
                return read.setting
            }
        }
    }

    /// Milliseconds since 1970.
    static func now() -> Int64 {
        guard let setting else { return WallClock.milliseconds() }
        return setting.now(wall: WallClock.milliseconds())
    }

    /// A malformed setting stops the tool rather than let it run on a wrong clock.
    private static func parse(_ text: String, from origin: String) -> Setting {
        guard let setting = Setting(text, startedAt: WallClock.milliseconds()) else {
            refuse("\(origin): '\(text)' is not RATE or RATE,WALL_MS,READING_MS (RATE ≥ 1)")
        }
        return setting
    }

    private static func refuse(_ message: String) -> Never {
        FileHandle.standardError.write(Data("muster: \(message)\n".utf8))
        exit(64)
    }

    /// The file's identity and modification time (a rename over it is a change too).
    fileprivate static func stamp(of path: String) -> [Int] {
        var status = stat()
        guard stat(path, &status) == 0 else { return [] }
        return [Int(status.st_ino), Int(status.st_size), status.st_mtim.tv_sec, status.st_mtim.tv_nsec]
    }
}
