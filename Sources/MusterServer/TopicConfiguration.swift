import MusterBroker
import MusterProtocol

/// Reads the topics file (`Config/topics.yaml`): every destination the broker carries, in
/// order (the first matching entry governs a destination):
///
///     topics:
///       - destination: /queue/inbox.{party}
///         types: [summons, handoff]
///         publish: [{kind: [township, department]}]
///         subscribe: [self]
///         admission:
///           task-field: /taskType
///           admitted:
///             - tasks: [drain-clearance]
///               from: [{kind: township}]
///               reason: ...
///               reference: ...
///
/// A party selector is `all`, `self` (the party of the `{party}` placeholder), or a mapping of
/// `party`, `kind` and `jurisdiction` (each a value or a list; all given fields must match).
enum TopicConfiguration {
    static func load(file: String, parties: PartyDirectory) throws(ConfigurationError) -> [TopicRule] {
        let root = try ConfigurationReader.load(file: file)
        let rules = try root.list("topics") { entry throws(ConfigurationError) in try rule(entry, parties: parties) }
        try root.rejectUnknownKeys()
        return rules
    }

    private static func rule(_ entry: ConfigurationReader, parties: PartyDirectory) throws(ConfigurationError) -> TopicRule {
        guard let text = try entry.string("destination") else {
            throw entry.error("destination", "is required: a destination like /topic/summons, or a pattern with *, ** or {party}")
        }
        let pattern: DestinationPattern
        do throws(BrokerError) { pattern = try DestinationPattern(text) } catch { throw entry.error("destination", error.message) }
        let types = try entry.stringOrList("types") ?? []
        for type in types where PartyIdentity(uri: "muster://x/\(type)") == nil {
            throw entry.error("types", "'\(type)' is not a type name (letters, digits, '-', '_', '.'); it names Schemas/\(type).schema.json")
        }
        _ = try entry.string("description")
        let publishers = try selectors(entry, "publish", parties: parties, placeholder: text.contains("{party}"))
        let subscribers = try selectors(entry, "subscribe", parties: parties, placeholder: text.contains("{party}"))
        let admission = try entry.section("admission").map { section throws(ConfigurationError) in
            try admissionList(section, parties: parties, placeholder: text.contains("{party}"))
        }
        return TopicRule(pattern: pattern, types: types, publishers: publishers, subscribers: subscribers, admission: admission,
                         origin: "\(entry.file) \(entry.path)")
    }

    private static func admissionList(_ section: ConfigurationReader, parties: PartyDirectory, placeholder: Bool) throws(ConfigurationError) -> AdmissionList {
        let field = try section.string("task-field", default: AdmissionList.defaultTaskField)
        guard field.isEmpty || field.hasPrefix("/") else {
            throw section.error("task-field", "'\(field)' must be a JSON Pointer into the message body, like /taskType")
        }
        let entries = try section.list("admitted") { admitted throws(ConfigurationError) in
            let tasks = try admitted.stringOrList("tasks") ?? []
            guard !tasks.isEmpty else { throw admitted.error("tasks", "is required: the task types this entry admits") }
            let senders = try selectors(admitted, "from", parties: parties, placeholder: placeholder)
            guard !senders.isEmpty else { throw admitted.error("from", "is required: who may send these tasks (all, or party/kind/jurisdiction)") }
            guard let reason = try admitted.string("reason"), !reason.isEmpty else {
                throw admitted.error("reason", "is required: why these tasks are admitted")
            }
            guard let reference = try admitted.string("reference"), !reference.isEmpty else {
                throw admitted.error("reference", "is required: the decision that admitted them (document number, meeting, date)")
            }
            return AdmissionList.Entry(taskTypes: Set(tasks), senders: senders, reason: reason, reference: reference)
        }
        try section.rejectUnknownKeys()
        return AdmissionList(taskField: field, entries: entries)
    }

    static func selectors(_ entry: ConfigurationReader, _ key: String, parties: PartyDirectory,
                                  placeholder: Bool) throws(ConfigurationError) -> [PartySelector] {
        guard let items = try entry.items(key) else { return [] }
        var selectors: [PartySelector] = []
        for item in items {
            switch item {
            case .value("all"):
                selectors.append(.everyone)
            case .value("self"):
                guard placeholder else { throw entry.error(key, "'self' needs a destination with a {party} placeholder") }
                selectors.append(.owner)
            case .value(let other):
                throw entry.error(key, "'\(other)' is not a selector; use all, self, or a mapping like {kind: department, jurisdiction: jinshan}")
            case .mapping(let reader):
                selectors.append(try selector(reader, parties: parties))
                try reader.rejectUnknownKeys()
            }
        }
        return selectors
    }

    private static func selector(_ reader: ConfigurationReader, parties: PartyDirectory) throws(ConfigurationError) -> PartySelector {
        var selector = PartySelector()
        if let ids = try reader.stringOrList("party") {
            for id in ids where !parties.parties.contains(where: { $0.id == id }) {
                throw reader.error("party", "'\(id)' is not a party in \(parties.file)")
            }
            selector.parties = Set(ids)
        }
        if let names = try reader.stringOrList("kind") {
            var kinds = Set<PartyKind>()
            for name in names {
                guard let kind = PartyKind(rawValue: name) else {
                    throw reader.error("kind", "'\(name)' must be one of \(PartyKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                kinds.insert(kind)
            }
            selector.kinds = kinds
        }
        if let ids = try reader.stringOrList("jurisdiction") {
            for id in ids where parties.jurisdiction(id) == nil {
                throw reader.error("jurisdiction", "'\(id)' is not a jurisdiction in \(parties.file)")
            }
            selector.jurisdictions = Set(ids)
        }
        guard selector != PartySelector() else {
            throw reader.error("", "names nobody in particular; give party, kind or jurisdiction, or write all")
        }
        return selector
    }
}
