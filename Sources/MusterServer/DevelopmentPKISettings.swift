/// What creating a development PKI needs from muster.yaml: the parties file, the broker's
/// jurisdiction, its certificate and the development-certificates directory. Read without the
/// rest of the file's checks, because some of those (a federation peer's CA file) look for the
/// very files the PKI creates.
public struct DevelopmentPKISettings: Sendable {
    public let parties: PartyDirectory
    public let jurisdiction: String
    public let certificatePath: String
    public let developmentDirectory: String?

    public static func load(file: String) throws(ConfigurationError) -> DevelopmentPKISettings {
        let root = try ConfigurationReader.load(file: file)
        let jurisdiction = try root.section("broker")?.string("jurisdiction") ?? ""
        let tls = try root.section("tls")
        let parties = try PartyDirectory.load(file: try root.string("parties", default: "Config/parties.yaml"))
        guard parties.jurisdiction(jurisdiction) != nil else {
            throw ConfigurationError(file: file, key: "broker.jurisdiction", problem: "'\(jurisdiction)' is not a jurisdiction in \(parties.file)")
        }
        return DevelopmentPKISettings(parties: parties, jurisdiction: jurisdiction,
                                      certificatePath: try tls?.string("certificate") ?? ".muster/certs/server.crt",
                                      developmentDirectory: try tls?.string("development-certificates"))
    }
}
