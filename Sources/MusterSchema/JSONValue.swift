/// A parsed JSON document or a value inside one.
///
/// Equality is JSON equality: numbers compare by value (`1` equals `1.0`), objects compare
/// without regard to key order, and `true` never equals `1`. Hashing agrees with it, so
/// values can go into sets (as `uniqueItems` does).
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type name as JSON Schema spells it ("null", "boolean", "number", ...).
    /// Integral numbers are still "number" here; `integer` is a schema-side refinement.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The child at `key` when this is an object, else nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` when this is an array and the index is in range, else nil.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }
}
