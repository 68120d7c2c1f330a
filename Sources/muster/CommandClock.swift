import Foundation
import MusterBroker

/// "Now" for every subcommand: the wall clock, unless MUSTER_TEST_CLOCK sets a faster one.
///
/// For tests only, so that workflow deadlines pass in seconds: "RATE" runs RATE times as fast
/// from the moment the process starts; "RATE,WALL_MS,READING_MS" reads READING_MS at wall
/// time WALL_MS (milliseconds since 1970) and runs RATE times as fast from there, so that every
/// process a test starts (a broker, its restart, the tool) reads the same clock. It is not a
/// configuration setting: a production broker never has it.
enum CommandClock {
    static let variable = "MUSTER_TEST_CLOCK"

    struct Setting: Equatable {
        let rate: Double
        let wallAnchor: Int64
        let anchor: Int64

        /// nil for text that is not "RATE" or "RATE,WALL_MS,READING_MS" with RATE ≥ 1.
        init?(_ text: String, startedAt wall: Int64) {
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
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

    /// The setting, read once; a malformed MUSTER_TEST_CLOCK stops the tool rather than run on a wrong clock.
    static let setting: Setting? = {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return nil }
        guard let setting = Setting(text, startedAt: WallClock.milliseconds()) else {
            FileHandle.standardError.write(Data("muster: \(variable)='\(text)' is not RATE or RATE,WALL_MS,READING_MS (RATE ≥ 1)\n".utf8))
            exit(64)
        }
        return setting
    }()

    /// Milliseconds since 1970.
    static func now() -> Int64 {
        guard let setting else { return WallClock.milliseconds() }
        return setting.now(wall: WallClock.milliseconds())
    }

    /// Clock milliseconds per real millisecond (1 on the wall clock).
    static var rate: Double { setting?.rate ?? 1 }
}
