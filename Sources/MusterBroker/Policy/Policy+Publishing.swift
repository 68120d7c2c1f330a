import MusterProtocol
import MusterSchema
/// Whether a publish decision validates the body: `muster policy explain` may ask without one,
/// giving the task type the admission list should assume.
public enum BodyCheck: Sendable {
    case validate
    case skip(assumedTask: String?)
}

extension Policy {
    /// Checks a publication against its topic: the sender may publish there, its type is one
    /// the topic carries, its body matches the type's schema, and its task type is admitted.
    /// The allowed publication carries its type in `muster-type`.
    public func decidePublish(_ publication: Publication, body check: BodyCheck = .validate) -> Result<(Publication, PolicyGrant), PolicyRefusal> {
        var assumedTask: String?
        if case .skip(let task) = check { assumedTask = task }
        let identity = publication.sender, destination = publication.destination
        let requestedType = publication.headers[ReservedHeader.type]
        func refuse(_ code: ErrorCode, _ message: String, rule: String, type: String? = requestedType) -> Result<(Publication, PolicyGrant), PolicyRefusal> {
            .failure(PolicyRefusal(BrokerError(code, message), rule: rule, party: identity, destination: destination, type: type))
        }
        guard let party = parties[identity] else {
            return refuse(.identityRefused, "\(identity) is not a party in the parties file", rule: "parties file: parties")
        }
        if party.isAuditor {
            return refuse(.notAuthorized, "\(identity) is an auditor; auditors read every destination and publish to none", rule: Self.auditorRule)
        }
        guard let (rule, bound) = topic(for: destination) else {
            return refuse(.notAuthorized, "no topic declares \(destination); every destination must be declared in the topics file before anyone may use it",
                          rule: Self.defaultDenyRule)
        }
        guard let selector = rule.publisher(party, boundParty: bound) else {
            let allowed = rule.publishers.isEmpty ? "nobody" : rule.publishers.map(\.description).joined(separator: "; ")
            return refuse(.notAuthorized, "\(identity) (\(party.kind.rawValue)) may not publish to \(destination): \(rule.name) lets publish only \(allowed)",
                          rule: rule.name)
        }
        let type: String?
        switch (requestedType, rule.types.count) {
        case (nil, 0):
            type = nil
        case (let requested?, 0):
            return refuse(.wrongType, "\(destination) carries untyped messages, not '\(requested)'; drop the \(ReservedHeader.type) header or publish to a topic of that type", rule: rule.name)
        case (nil, 1):
            type = rule.types[0]
        case (nil, _):
            return refuse(.wrongType, "\(destination) carries several types (\(rule.types.joined(separator: ", "))); name one in the \(ReservedHeader.type) header", rule: rule.name)
        case (let requested?, _):
            guard rule.types.contains(requested) else {
                return refuse(.wrongType, "\(destination) carries \(rule.types.joined(separator: ", ")), not '\(requested)'", rule: rule.name)
            }
            type = requested
        }
        var body: JSONValue?
        if let type, case .validate = check {
            guard let schema = schemas[type] else {
                return refuse(.wrongType, "the type '\(type)' has no schema loaded; tell the operator", rule: rule.name, type: type)
            }
            switch Self.validate(publication.body, against: schema) {
            case .failure(let violation):
                let at = violation.pointer.isEmpty ? "the body" : violation.pointer
                return refuse(.schemaViolation, "this \(type) does not match its schema (\(schema.source)): at \(at): \(violation.reason)",
                              rule: "\(rule.name), type \(type)", type: type)
            case .success(let value):
                body = value
            }
        }
        if let admission = rule.admission {
            let task = assumedTask ?? admission.taskType(of: body, messageType: type)
            guard let task,
                  let entry = admission.admittingEntry(task: task, sender: party, boundParty: bound) else {
                let task = task ?? "(none)"
                let admitted = admission.admittedTaskTypes
                return refuse(.notAdmitted, "task type '\(task)' from \(identity) is not on the admission list of \(destination) (admitted: \(admitted.isEmpty ? "nothing" : admitted.joined(separator: ", ")))",
                              rule: "\(rule.name), admission list", type: type)
            }
            var stamped = publication
            if requestedType == nil, let type { stamped.headers.append(ReservedHeader.type, type) }
            return .success((stamped, PolicyGrant(rule: "\(rule.name), publish: \(selector); admitted: \(entry)", type: type)))
        }
        var stamped = publication
        if requestedType == nil, let type { stamped.headers.append(ReservedHeader.type, type) }
        return .success((stamped, PolicyGrant(rule: "\(rule.name), publish: \(selector)", type: type)))
    }

    private static func validate(_ body: [UInt8], against schema: JSONSchema) -> Result<JSONValue, SchemaViolation> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            return .failure(SchemaViolation(pointer: "", keywordLocation: "", reason: "the body is not JSON: \(error)"))
        }
        if let violation = schema.validate(value) { return .failure(violation) }
        return .success(value)
    }
}
