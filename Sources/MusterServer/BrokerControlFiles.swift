import Foundation

/// Files in the data directory through which `muster reload` reaches a running broker: the
/// broker's process id, and the outcome of its latest reload.
public struct BrokerControlFiles: Sendable {
    public let processIDFile: String
    public let reloadOutcomeFile: String
    /// The import links' state, rewritten every second while the broker runs (`muster federation status`).
    public let federationStatusFile: String

    public init(dataDirectory: String) {
        processIDFile = "\(dataDirectory)/muster.pid"
        reloadOutcomeFile = "\(dataDirectory)/reload-outcome"
        federationStatusFile = "\(dataDirectory)/federation/status.json"
    }

    public func writeProcessID() {
        try? "\(getpid())\n".write(toFile: processIDFile, atomically: true, encoding: .utf8)
    }

    public func removeProcessID() {
        try? FileManager.default.removeItem(atPath: processIDFile)
    }

    /// The running broker's process id, if it wrote one and that process exists.
    public func runningProcessID() -> Int32? {
        guard let text = try? String(contentsOfFile: processIDFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// `SEQUENCE TIME OUTCOME`: the sequence tells a waiting `muster reload` that a new outcome arrived.
    public func writeReloadOutcome(_ outcome: String) {
        let sequence = (readReloadOutcome()?.sequence ?? 0) + 1
        let line = "\(sequence) \(ISO8601DateFormatter().string(from: Date())) \(outcome.replacingOccurrences(of: "\n", with: " "))\n"
        try? line.write(toFile: reloadOutcomeFile, atomically: true, encoding: .utf8)
    }

    public func readReloadOutcome() -> (sequence: Int, text: String)? {
        guard let text = try? String(contentsOfFile: reloadOutcomeFile, encoding: .utf8) else { return nil }
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let sequence = Int(parts[0]) else { return nil }
        return (sequence, String(parts[1]).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
