public import MusterNet

/// Who the client is (its certificate and key) and whom it trusts (the broker's CA).
public struct ClientIdentity: Sendable {
    public var certificatePath: String
    public var privateKeyPath: String
    public var trustedAuthorityPaths: [String]

    public init(certificatePath: String, privateKeyPath: String, trustedAuthorityPaths: [String]) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trustedAuthorityPaths = trustedAuthorityPaths
    }
}

/// How to reach the broker.
public struct ClientOptions: Sendable {
    public var server: SocketAddress
    /// The name or IP the broker's certificate must carry (defaults to the server host).
    public var serverName: String
    public var identity: ClientIdentity
    /// Heart-beats offered in CONNECT: send every / want every, in milliseconds (0 = off).
    public var heartbeatSend: Int
    public var heartbeatWant: Int
    public var connectTimeout: Duration
    /// How long a frame sent with a receipt may wait for its RECEIPT before the wait fails with
    /// `timedOut` (the connection stays open).
    public var receiptTimeout: Duration
    public var minimumTLSVersion: TLSVersion

    public init(server: SocketAddress, serverName: String? = nil, identity: ClientIdentity,
                heartbeatSend: Int = 10_000, heartbeatWant: Int = 10_000, connectTimeout: Duration = .seconds(10),
                receiptTimeout: Duration = .seconds(60), minimumTLSVersion: TLSVersion = .tls12) {
        self.server = server
        self.serverName = serverName ?? server.host
        self.identity = identity
        self.heartbeatSend = heartbeatSend
        self.heartbeatWant = heartbeatWant
        self.connectTimeout = connectTimeout
        self.receiptTimeout = receiptTimeout
        self.minimumTLSVersion = minimumTLSVersion
    }

    var tlsConfiguration: TLSConfiguration {
        TLSConfiguration(certificatePath: identity.certificatePath, privateKeyPath: identity.privateKeyPath,
                         trustedAuthorityPaths: identity.trustedAuthorityPaths, minimumVersion: minimumTLSVersion)
    }
}
