/// The ordered header list of a frame.
///
/// Repeated names are kept in order; lookups return the FIRST value, because STOMP 1.2
/// says only the first occurrence of a repeated header is used.
public struct StompHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (name: String, value: String)

    public var entries: [(name: String, value: String)]

    public init(_ entries: [(String, String)] = []) {
        self.entries = entries.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// Get: the first value named `name`. Set: replaces the first entry named `name` in place and
    /// removes later repeats (appending when there is none); setting nil removes every entry.
    public subscript(name: String) -> String? {
        get {
            // Names of another length are passed over without a string comparison (a call
            // each, for the 15-odd headers of a typical frame; the length is stored).
            let length = name.utf8.count
            for entry in entries where entry.name.utf8.count == length && entry.name == name {
                return entry.value
            }
            return nil
        }
        set {
            guard let newValue else {
                entries.removeAll { $0.name == name }
                return
            }
            guard let first = entries.firstIndex(where: { $0.name == name }) else {
                entries.append((name: name, value: newValue))
                return
            }
            entries[first].value = newValue
            let laterStart = first + 1
            entries[laterStart...].removeAll { $0.name == name }
        }
    }

    /// Appends an entry, keeping any earlier entry of the same name (which stays the one looked up).
    public mutating func append(_ name: String, _ value: String) {
        entries.append((name: name, value: value))
    }

    public func contains(_ name: String) -> Bool {
        entries.contains { $0.name == name }
    }

    /// Number of entries, repeats included.
    public var count: Int { entries.count }

    public var underestimatedCount: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        entries.makeIterator()
    }

    /// Equal when both hold the same entries in the same order.
    public static func == (lhs: StompHeaders, rhs: StompHeaders) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.name == $1.name && $0.value == $1.value }
    }
}
