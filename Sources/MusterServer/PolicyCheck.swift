public import Foundation
import MusterBroker
import MusterSchema

/// `muster policy check`: every problem of the policy files at once, not just the first,
/// plus the schemas in the directory that no topic uses yet (their examples must be valid too).
public struct PolicyCheck: Sendable {
    public let problems: [ConfigurationError]
    public let warnings: [String]
    /// The policy, when there were no problems.
    public let loaded: PolicyLoader.Loaded?
    /// Every schema file checked, with its example count.
    public let schemas: [(file: String, examples: Int)]

    public static func run(_ files: PolicyFiles, now: Date = Date()) -> PolicyCheck {
        var problems: [ConfigurationError] = []
        var warnings: [String] = []
        var checked: [(String, Int)] = []
        for file in schemaFiles(in: files.schemasDirectory, problems: &problems) {
            do {
                let schema = try JSONSchema(contentsOfFile: file)
                for (index, example) in schema.examples.enumerated() {
                    if let violation = schema.validate(example) {
                        problems.append(ConfigurationError(file: file, key: "examples[\(index)]",
                                                           problem: "is not valid by its own schema: at \(violation.pointer.isEmpty ? "the root" : violation.pointer): \(violation.reason)"))
                    }
                }
                checked.append((file, schema.examples.count))
            } catch {
                problems.append(ConfigurationError(file: file, key: error.pointer, problem: error.problem))
            }
        }
        var loaded: PolicyLoader.Loaded?
        do {
            loaded = try PolicyLoader.load(files, now: now)
            warnings += loaded!.warnings
        } catch {
            if !problems.contains(where: { $0.file == error.file && $0.key == error.key }) { problems.append(error) }
        }
        if let policy = loaded?.policy {
            warnings += unusedParties(policy)
        }
        return PolicyCheck(problems: problems, warnings: warnings, loaded: problems.isEmpty ? loaded : nil, schemas: checked)
    }

    private static func schemaFiles(in directory: String, problems: inout [ConfigurationError]) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            problems.append(ConfigurationError(file: directory, key: "", problem: "the schema directory cannot be read; set `schemas:` in muster.yaml"))
            return []
        }
        return names.filter { $0.hasSuffix(".schema.json") }.sorted().map { "\(directory)/\($0)" }
    }

    /// Parties that no topic lets publish or subscribe anywhere: usually a forgotten rule.
    private static func unusedParties(_ policy: Policy) -> [String] {
        policy.parties.values.sorted { $0.identity.description < $1.identity.description }.compactMap { party in
            guard !party.isAuditor else { return nil }
            let named = policy.topics.contains { rule in
                (rule.publishers + rule.subscribers).contains { $0.isSelf || $0.matches(party, boundParty: nil) }
            }
            return named ? nil : "\(party.identity) (\(party.kind.rawValue)) may neither publish nor subscribe anywhere"
        }
    }
}
