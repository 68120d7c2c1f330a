import Foundation
import Yams

/// Reads one YAML mapping with precise errors: every lookup knows its key path, and keys
/// nobody asked for are reported as unknown (a typo must not silently fall back to a default).
struct ConfigurationReader {
    let file: String
    let path: String
    private let mapping: Node.Mapping
    private let consumed: Consumed

    /// Tracks which keys were read, shared by the reader and its copies.
    final class Consumed { var keys: Set<String> = [] }

    static func load(file: String) throws(ConfigurationError) -> ConfigurationReader {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: file, key: "", problem: "cannot be read (\(error.localizedDescription)); check the path given with --config")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(file: file, key: "", problem: "is not valid YAML: \(String(describing: error).split(separator: "\n").joined(separator: " "))")
        }
        guard let mapping = node?.mapping else {
            throw ConfigurationError(file: file, key: "", problem: "must be a YAML mapping of settings")
        }
        return ConfigurationReader(file: file, path: "", mapping: mapping)
    }

    init(file: String, path: String, mapping: Node.Mapping) {
        self.file = file
        self.path = path
        self.mapping = mapping
        self.consumed = Consumed()
    }

    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, key: keyPath(key), problem: problem)
    }

    private func node(_ key: String) -> Node? {
        consumed.keys.insert(key)
        guard let value = mapping[Node(key)] else { return nil }
        if value.null != nil { return nil }
        return value
    }

    func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let node = node(key) else { return nil }
        guard let scalar = node.scalar else { throw error(key, "must be a single value, not a list or mapping") }
        return scalar.string
    }

    func string(_ key: String, default value: String) throws(ConfigurationError) -> String {
        try string(key) ?? value
    }

    func integer(_ key: String, default value: Int, minimum: Int = 0) throws(ConfigurationError) -> Int {
        guard let text = try string(key) else { return value }
        guard let number = Int(text.replacingOccurrences(of: "_", with: "")), number >= minimum else {
            throw error(key, "'\(text)' must be a whole number of at least \(minimum)")
        }
        return number
    }

    func number(_ key: String, default value: Double, minimum: Double) throws(ConfigurationError) -> Double {
        guard let text = try string(key) else { return value }
        guard let number = Double(text), number >= minimum else {
            throw error(key, "'\(text)' must be a number of at least \(minimum)")
        }
        return number
    }

    func boolean(_ key: String, default value: Bool) throws(ConfigurationError) -> Bool {
        guard let text = try string(key) else { return value }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "'\(text)' must be true or false")
        }
    }

    func section(_ key: String) throws(ConfigurationError) -> ConfigurationReader? {
        guard let node = node(key) else { return nil }
        guard let mapping = node.mapping else { throw error(key, "must be a mapping of settings") }
        return ConfigurationReader(file: file, path: keyPath(key), mapping: mapping)
    }

    /// A list of mappings, each read by `body`.
    func list<Element>(_ key: String, _ body: (ConfigurationReader) throws(ConfigurationError) -> Element) throws(ConfigurationError) -> [Element] {
        guard let node = node(key) else { return [] }
        guard let sequence = node.sequence else { throw error(key, "must be a list") }
        var elements: [Element] = []
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else { throw error("\(key)[\(index)]", "must be a mapping") }
            let reader = ConfigurationReader(file: file, path: keyPath("\(key)[\(index)]"), mapping: mapping)
            elements.append(try body(reader))
            try reader.rejectUnknownKeys()
        }
        return elements
    }

    func stringList(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let node = node(key) else { return nil }
        guard let sequence = node.sequence else { throw error(key, "must be a list of values") }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar else { throw error("\(key)[\(index)]", "must be a single value") }
            values.append(scalar.string)
        }
        return values
    }

    /// A single value or a list of values, as a list.
    func stringOrList(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let node = node(key) else { return nil }
        if let scalar = node.scalar { return [scalar.string] }
        return try stringList(key)
    }

    /// An entry of a list that holds values and mappings alike.
    enum Item {
        case value(String)
        case mapping(ConfigurationReader)
    }

    /// A list whose entries are single values or mappings (a lone value counts as a list of one).
    /// The caller checks each mapping's keys.
    func items(_ key: String) throws(ConfigurationError) -> [Item]? {
        guard let node = node(key) else { return nil }
        if let scalar = node.scalar { return [.value(scalar.string)] }
        guard let sequence = node.sequence else { throw error(key, "must be a list") }
        var items: [Item] = []
        for (index, entry) in sequence.enumerated() {
            if let scalar = entry.scalar {
                items.append(.value(scalar.string))
            } else if let mapping = entry.mapping {
                items.append(.mapping(ConfigurationReader(file: file, path: keyPath("\(key)[\(index)]"), mapping: mapping)))
            } else {
                throw error("\(key)[\(index)]", "must be a value or a mapping")
            }
        }
        return items
    }

    /// Fails on the first key of this mapping that no lookup asked for.
    func rejectUnknownKeys() throws(ConfigurationError) {
        for (key, _) in mapping {
            let name = key.string ?? "?"
            if !consumed.keys.contains(name) {
                throw error(name, "is not a known setting; check its spelling against the README's configuration reference")
            }
        }
    }
}
