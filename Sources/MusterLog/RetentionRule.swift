/// How long a destination's records are kept. Retention is off unless rules are given, and
/// it only ever deletes whole segments from the old end of the log: a segment goes when every
/// destination with records in it has a rule that lets them go.
public struct RetentionRule: Sendable, Equatable {
    /// An exact destination, a prefix ending in `*` (`/topic/grid.*`), or `*` for all.
    public var destination: String
    /// Records older than this may go.
    public var maxAgeMilliseconds: Int64?
    /// Older records may go while the destination holds more than this many bytes.
    public var maxBytes: Int?

    public init(destination: String, maxAgeMilliseconds: Int64? = nil, maxBytes: Int? = nil) {
        self.destination = destination
        self.maxAgeMilliseconds = maxAgeMilliseconds
        self.maxBytes = maxBytes
    }

    public func matches(_ name: String) -> Bool {
        if destination.hasSuffix("*") { return name.hasPrefix(destination.dropLast()) }
        return name == destination
    }

    /// The first rule that names `destination`, if any.
    static func rule(for destination: String, in rules: [RetentionRule]) -> RetentionRule? {
        rules.first { $0.matches(destination) }
    }

    /// Whether the oldest segment may be deleted, given the sizes of every destination in the log.
    static func allowsDeleting(_ segment: SegmentIndex, now: Int64, rules: [RetentionRule], totalBytes: [String: Int]) -> Bool {
        for (destination, _) in segment.destinationBytes {
            guard let rule = rule(for: destination, in: rules) else { return false }
            let tooOld = rule.maxAgeMilliseconds.map { age in (segment.lastTimestamp ?? now) < now - age } ?? false
            let tooBig = rule.maxBytes.map { limit in (totalBytes[destination] ?? 0) > limit } ?? false
            guard tooOld || tooBig else { return false }
        }
        return true
    }
}
