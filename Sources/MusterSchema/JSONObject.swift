/// A JSON object that remembers the order its keys appeared in the document.
///
/// Lookups go through a dictionary; `keys` keeps document order for messages and for
/// serialising. Equality ignores key order, as JSON does.
public struct JSONObject: Sendable, Equatable, Hashable {
    /// The keys in document order.
    public private(set) var keys: [String]
    private var values: [String: JSONValue]

    /// Builds an object from key-value pairs in order. A repeated key keeps its first
    /// position and takes the later value (the parser refuses duplicates before this).
    public init(_ pairs: [(String, JSONValue)]) {
        keys = []
        keys.reserveCapacity(pairs.count)
        values = Dictionary(minimumCapacity: pairs.count)
        for (key, value) in pairs {
            if values.updateValue(value, forKey: key) == nil { keys.append(key) }
        }
    }

    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The members in document order.
    public var members: [(key: String, value: JSONValue)] {
        keys.map { ($0, values[$0]!) }
    }

    public static func == (left: JSONObject, right: JSONObject) -> Bool {
        left.values == right.values
    }

    public func hash(into hasher: inout Hasher) {
        // Dictionary hashing is already independent of insertion order.
        hasher.combine(values)
    }
}

extension JSONObject {
    /// Adds a member whose key is not yet present; returns false, changing nothing, when it is.
    mutating func insertNew(_ key: String, _ value: JSONValue) -> Bool {
        guard values[key] == nil else { return false }
        values[key] = value
        keys.append(key)
        return true
    }
}
