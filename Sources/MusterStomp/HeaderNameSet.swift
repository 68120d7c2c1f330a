/// A fixed set of header names, asked about every header of every frame on hot paths: names
/// are grouped by length, so most lookups compare no string at all, and none hashes one
/// (a `Set<String>` hashes the whole name for each question).
public struct HeaderNameSet: Sendable {
    private let byLength: [[String]]

    public init(_ names: some Sequence<String>) {
        var byLength: [[String]] = []
        for name in Set(names) {
            let length = name.utf8.count
            if byLength.count <= length { byLength += Array(repeating: [], count: length + 1 - byLength.count) }
            byLength[length].append(name)
        }
        self.byLength = byLength
    }

    public func contains(_ name: String) -> Bool {
        let length = name.utf8.count
        return length < byLength.count && byLength[length].contains(name)
    }
}
