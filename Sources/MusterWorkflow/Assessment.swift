import MusterProtocol
/// The assessment (考核) of each party over a period, computed from the workflow book alone,
/// so that the broker's answer and an auditor's computation from a copy of the log agree.
/// A summons counts in the period it was opened, a hand-off in the period it was dispatched;
/// what was still pending is judged as of the period's end (or now, if that is earlier).
public struct Assessment: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        public let party: String
        public let jurisdiction: String
        public var summonsReceived = 0
        public var reportedInOnTime = 0
        public var reportedInLate = 0
        public var missed = 0
        /// Of the summonses received, the share reported in on time (0–100), nil when none.
        public var onTimePercent: Double?
        public var medianReportInMilliseconds: Int64?
        public var p90ReportInMilliseconds: Int64?
        public var averageEvaluation: Double?
        public var handoffsReceived = 0
        public var accepted = 0
        public var rejected = 0
        public var transferred = 0
        public var overdue = 0
        public var medianCompletionMilliseconds: Int64?
        public var citizenRating: Double?
        public var admissionRefusals = 0
    }

    public let from: Int64
    public let to: Int64
    public let jurisdiction: String?
    public let rows: [Row]

    public init(book: WorkflowBook, from: Int64, to: Int64, jurisdiction: String?, now: Int64) {
        self.from = from
        self.to = to
        self.jurisdiction = jurisdiction
        let asOf = min(to, now)
        var rows: [PartyIdentity: Row] = [:]
        var reportTimes: [PartyIdentity: [Int64]] = [:]
        var scores: [PartyIdentity: [Int]] = [:]
        var completions: [PartyIdentity: [Int64]] = [:]
        var citizen: [PartyIdentity: [Int]] = [:]
        func row(_ party: PartyIdentity) -> Row { rows[party] ?? Row(party: party.party, jurisdiction: party.jurisdiction) }
        let inPeriod = { (time: Int64) in time >= from && time < to }

        for id in book.summonsOrder {
            let summons = book.summonses[id]!
            guard inPeriod(summons.openedAt) else { continue }
            for party in summons.parties {
                var entry = row(party.identity)
                entry.summonsReceived += 1
                if let reported = party.reportedInAt, reported <= asOf {
                    reportTimes[party.identity, default: []].append(reported - summons.openedAt)
                    if reported <= summons.deadline { entry.reportedInOnTime += 1 } else { entry.reportedInLate += 1 }
                } else if summons.deadline <= asOf {
                    entry.missed += 1
                }
                if let score = party.score { scores[party.identity, default: []].append(score) }
                rows[party.identity] = entry
            }
        }
        for id in book.handoffOrder {
            let handoff = book.handoffs[id]!
            guard inPeriod(handoff.dispatchedAt) else { continue }
            for leg in handoff.legs {
                var entry = row(leg.assignee)
                entry.handoffsReceived += 1
                if leg.acceptedAt != nil { entry.accepted += 1 }
                if leg.rejectedAt != nil { entry.rejected += 1 }
                if leg.transferredAt != nil { entry.transferred += 1 }
                let ended = leg.transferredAt ?? leg.rejectedAt ?? leg.completedAt ?? asOf
                if ended > handoff.due { entry.overdue += 1 }
                if let completed = leg.completedAt {
                    completions[leg.assignee, default: []].append(completed - leg.receivedAt)
                    if let score = handoff.ratings["citizen"] { citizen[leg.assignee, default: []].append(score) }
                }
                rows[leg.assignee] = entry
            }
        }
        for refusal in book.admissionRefusals where inPeriod(refusal.time) {
            var entry = row(refusal.party)
            entry.admissionRefusals += 1
            rows[refusal.party] = entry
        }
        for (party, var entry) in rows {
            if entry.summonsReceived > 0 { entry.onTimePercent = Double(entry.reportedInOnTime * 100) / Double(entry.summonsReceived) }
            entry.medianReportInMilliseconds = Self.percentile(reportTimes[party], 50)
            entry.p90ReportInMilliseconds = Self.percentile(reportTimes[party], 90)
            entry.averageEvaluation = Self.average(scores[party])
            entry.medianCompletionMilliseconds = Self.percentile(completions[party], 50)
            entry.citizenRating = Self.average(citizen[party])
            rows[party] = entry
        }
        self.rows = rows.filter { jurisdiction == nil || $0.key.jurisdiction == jurisdiction }
            .sorted { ($0.key.jurisdiction, $0.key.party) < ($1.key.jurisdiction, $1.key.party) }.map(\.value)
    }

    /// Nearest-rank percentile.
    static func percentile(_ values: [Int64]?, _ percent: Int) -> Int64? {
        guard let values, !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = max(1, Int((Double(percent) / 100 * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    static func average(_ values: [Int]?) -> Double? {
        guard let values, !values.isEmpty else { return nil }
        return (Double(values.reduce(0, +)) / Double(values.count) * 100).rounded() / 100
    }
}
