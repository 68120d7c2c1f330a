public import Foundation
public import MusterBroker
import MusterNet
import MusterSchema

/// Where the policy comes from: the parties file, the topics file and the schema directory.
public struct PolicyFiles: Sendable, Equatable {
    public var partiesFile: String
    public var topicsFile: String
    /// Holds `TYPE.schema.json` for every message type a topic names.
    public var schemasDirectory: String

    public init(partiesFile: String, topicsFile: String, schemasDirectory: String) {
        self.partiesFile = partiesFile
        self.topicsFile = topicsFile
        self.schemasDirectory = schemasDirectory
    }

    public func schemaFile(for type: String) -> String { "\(schemasDirectory)/\(type).schema.json" }
}

/// Builds the `Policy` from its files, at start and on every reload: all of it or nothing.
public enum PolicyLoader {
    public struct Loaded: Sendable {
        public let policy: Policy
        public let parties: PartyDirectory
        /// Things worth saying that do not stop the broker (a CRL past its next update).
        public let warnings: [String]
    }

    public static func load(_ files: PolicyFiles, now: Date = Date()) throws(ConfigurationError) -> Loaded {
        let parties = try PartyDirectory.load(file: files.partiesFile)
        let topics = try TopicConfiguration.load(file: files.topicsFile, parties: parties)
        var schemas: [String: JSONSchema] = [:]
        for (index, rule) in topics.enumerated() {
            for type in rule.types where schemas[type] == nil {
                schemas[type] = try loadSchema(files.schemaFile(for: type), from: files.topicsFile, key: "topics[\(index)].types")
            }
        }
        let (trust, warnings) = try trust(parties, now: now)
        return Loaded(policy: Policy(parties: parties.parties.map(\.registered), topics: topics, schemas: schemas, trust: trust),
                      parties: parties, warnings: warnings)
    }

    static func loadSchema(_ path: String, from file: String, key: String) throws(ConfigurationError) -> JSONSchema {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(file: file, key: key, problem: "the type's schema \(path) does not exist; add it, or correct the type name")
        }
        do {
            return try JSONSchema(contentsOfFile: path)
        } catch {
            throw ConfigurationError(file: path, key: error.pointer, problem: error.problem)
        }
    }

    /// Each jurisdiction's CA fingerprints and the serials its CRLs revoke.
    static func trust(_ parties: PartyDirectory, now: Date) throws(ConfigurationError) -> (CertificateTrust, [String]) {
        var trust = CertificateTrust()
        var warnings: [String] = []
        for (index, jurisdiction) in parties.jurisdictions.enumerated() {
            var fingerprints = Set<String>()
            for path in jurisdiction.authorityPaths {
                do {
                    fingerprints.formUnion(try CertificateFingerprint.sha256(ofPEMFile: path))
                } catch {
                    throw ConfigurationError(file: parties.file, key: "jurisdictions[\(index)].ca", problem: "\(error)")
                }
            }
            trust.authorities[jurisdiction.id] = fingerprints
            for path in jurisdiction.revocationListPaths {
                let list = try revocationList(path, signedByOneOf: jurisdiction.authorityPaths, file: parties.file, key: "jurisdictions[\(index)].crl")
                trust.revokedSerials[list.authorityFingerprint, default: []].formUnion(list.revokedSerials)
                if list.isStale(at: now) {
                    warnings.append("the CRL \(path) of \(jurisdiction.id) is past its next update; ask the CA for a fresh one (it is still honoured)")
                }
            }
        }
        return (trust, warnings)
    }

    private static func revocationList(_ path: String, signedByOneOf authorities: [String], file: String, key: String) throws(ConfigurationError) -> RevocationList {
        var problem = "no certificate authority is configured for it"
        for authority in authorities {
            do {
                return try RevocationList.load(path: path, authorityPath: authority)
            } catch {
                problem = "\(error)"
            }
        }
        throw ConfigurationError(file: file, key: key, problem: problem)
    }
}
