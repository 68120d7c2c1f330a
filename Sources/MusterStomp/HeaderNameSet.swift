/// A fixed set of header names, asked about every header of every frame on hot paths: names
/// are grouped by length, so most lookups compare no string at all, and none hashes one
/// (a `Set<String>` hashes the whole name for each question).
public struct HeaderNameSet: Sendable {
    private let byLength: [[(name: String, index: Int)]]
    /// The names, in the order given (repeats dropped): `index(of:)` is a place in it.
    public let names: [String]

    public init(_ names: some Sequence<String>) {
        var byLength: [[(name: String, index: Int)]] = []
        var unique: [String] = []
        for name in names where !unique.contains(name) {
            let length = name.utf8.count
            if byLength.count <= length { byLength += Array(repeating: [], count: length + 1 - byLength.count) }
            byLength[length].append((name, unique.count))
            unique.append(name)
        }
        self.byLength = byLength
        self.names = unique
    }

    public func contains(_ name: String) -> Bool {
        index(of: name) != nil
    }

    /// The name's place in `names`.
    public func index(of name: String) -> Int? {
        let length = name.utf8.count
        guard length < byLength.count else { return nil }
        for candidate in byLength[length] where candidate.name == name { return candidate.index }
        return nil
    }
}
