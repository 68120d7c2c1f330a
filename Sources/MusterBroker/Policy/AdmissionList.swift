public import MusterSchema
/// An admission list (准入清单): the task types that may be sent into a destination, and by
/// whom, each admitted by a recorded decision. A message's task type is the string at
/// `taskField` in its body, or its message type when the body has none.
public struct AdmissionList: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public let taskTypes: Set<String>
        public let senders: [PartySelector]
        public let reason: String
        /// The decision that admitted these tasks (a document number, a meeting, a date).
        public let reference: String

        public init(taskTypes: Set<String>, senders: [PartySelector], reason: String, reference: String) {
            self.taskTypes = taskTypes
            self.senders = senders
            self.reason = reason
            self.reference = reference
        }

        public var description: String {
            "\(taskTypes.sorted().joined(separator: ", ")) from \(senders.map(\.description).joined(separator: " or ")) (\(reference))"
        }
    }

    public static let defaultTaskField = "/taskType"

    /// A JSON Pointer into the message body.
    public let taskField: String
    public let entries: [Entry]

    public init(taskField: String = AdmissionList.defaultTaskField, entries: [Entry]) {
        self.taskField = taskField
        self.entries = entries
    }

    /// The task type of a message: the string at `taskField`, else its message type.
    public func taskType(of body: JSONValue?, messageType: String?) -> String? {
        if let body, case .string(let task)? = JSONPointer(taskField)?.resolve(in: body) { return task }
        return messageType
    }

    /// The entry that admits `task` from `sender`, if any.
    public func admittingEntry(task: String, sender: RegisteredParty, boundParty: String?) -> Entry? {
        entries.first { entry in
            entry.taskTypes.contains(task) && entry.senders.contains { $0.matches(sender, boundParty: boundParty) }
        }
    }

    /// Every task type on the list, for refusal messages.
    public var admittedTaskTypes: [String] { Set(entries.flatMap(\.taskTypes)).sorted() }
}
