import MusterProtocol
import Foundation
public import MusterLog

/// The `log:` section of muster.yaml.
public struct LogSettings: Sendable {
    public var fsync: FsyncPolicy = .always
    public var segmentBytes = 64 << 20
    public var retention: [RetentionRule] = []
    /// Start-up reads and checks every record, not only those written since the sealed
    /// segments' index files (`muster serve --verify-all`; not a file setting).
    public var verifyAll = false
    /// How often the broker signs its head into the log (and sends the checkpoint to its
    /// peers), in milliseconds; nil: never (`checkpoint-interval: off`).
    public var checkpointInterval: Int64? = 600_000

    public init() {}

    static func read(_ section: ConfigurationReader?) throws(ConfigurationError) -> LogSettings {
        var settings = LogSettings()
        guard let section else { return settings }
        if let text = try section.string("fsync") {
            guard let policy = FsyncPolicy(text) else {
                throw section.error("fsync", "'\(text)' must be always or interval(MILLISECONDS), for example interval(100)")
            }
            settings.fsync = policy
        }
        settings.segmentBytes = try section.byteSize("segment-size", default: settings.segmentBytes, minimum: 64 << 10)
        guard settings.segmentBytes <= LogOptions.maximumSegmentBytes else {
            throw section.error("segment-size", "must be at most 2GiB (a record's place in its segment is indexed in 32 bits)")
        }
        settings.retention = try section.list("retention") { rule throws(ConfigurationError) in
            guard let destination = try rule.string("destination") else {
                throw rule.error("destination", "is required: an exact destination, a prefix ending in *, or *")
            }
            let age = try rule.duration("max-age")
            let bytes = try rule.string("max-size") == nil ? nil : try rule.byteSize("max-size", default: 0, minimum: 1)
            guard age != nil || bytes != nil else {
                throw rule.error("max-age", "a retention rule needs max-age, max-size or both")
            }
            return RetentionRule(destination: destination, maxAgeMilliseconds: age, maxBytes: bytes)
        }
        if try section.string("checkpoint-interval") == "off" {
            settings.checkpointInterval = nil
        } else if let interval = try section.duration("checkpoint-interval") {
            guard interval >= 1_000 else { throw section.error("checkpoint-interval", "must be at least 1s (each checkpoint is a signature and a record)") }
            settings.checkpointInterval = interval
        }
        try section.rejectUnknownKeys()
        return settings
    }
}

extension ConfigurationReader {
    /// A size such as `64MiB`, `1GiB`, `512KiB` or a plain number of bytes.
    func byteSize(_ key: String, default value: Int, minimum: Int) throws(ConfigurationError) -> Int {
        guard let text = try string(key) else { return value }
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1), ("", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let number = Int(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), number >= 0 {
                let bytes = number.multipliedReportingOverflow(by: factor)
                guard !bytes.overflow, bytes.partialValue >= minimum else { break }
                return bytes.partialValue
            }
        }
        throw error(key, "'\(text)' must be a size of at least \(minimum) bytes, such as 64MiB, 1GiB or 4096")
    }

    /// A positive duration (`DurationText`: 90s, 30m, 1h30m, 400d, PT30M), in milliseconds (nil when absent).
    func duration(_ key: String) throws(ConfigurationError) -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let milliseconds = DurationText.milliseconds(text), milliseconds > 0 else {
            throw error(key, "'\(text)' must be a duration such as \(DurationText.examples)")
        }
        return milliseconds
    }
}
