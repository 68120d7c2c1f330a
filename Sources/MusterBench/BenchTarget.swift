public import MusterNet
import MusterStomp

/// The broker a benchmark drives, and how to speak to it: any STOMP 1.2 broker over mutual TLS.
public struct BenchTarget: Sendable {
    public var address: SocketAddress
    /// The name or IP address the broker's certificate must carry.
    public var serverName: String
    public var tls: TLSConfiguration
    /// CONNECT's `login`, `passcode` and `host` (some brokers want them; Muster ignores them).
    public var login: String?
    public var passcode: String?
    public var virtualHost: String?
    /// Added to every SEND (e.g. `persistent:true`) and every SUBSCRIBE (e.g. `prefetch-count:1000`).
    public var sendHeaders: [(String, String)]
    public var subscribeHeaders: [(String, String)]

    public init(address: SocketAddress, serverName: String? = nil, tls: TLSConfiguration,
                login: String? = nil, passcode: String? = nil, virtualHost: String? = nil,
                sendHeaders: [(String, String)] = [], subscribeHeaders: [(String, String)] = []) {
        self.address = address
        self.serverName = serverName ?? address.host
        self.tls = tls
        self.login = login
        self.passcode = passcode
        self.virtualHost = virtualHost
        self.sendHeaders = sendHeaders
        self.subscribeHeaders = subscribeHeaders
    }

    /// The client TLS context every connection of one run shares.
    public func makeContext() throws -> TLSContext {
        try TLSContext(role: .client, configuration: tls)
    }

    var connectFrame: StompFrame {
        var headers: StompHeaders = ["accept-version": "1.2", "host": virtualHost ?? address.host, "heart-beat": "0,0"]
        if let login { headers.append("login", login) }
        if let passcode { headers.append("passcode", passcode) }
        return StompFrame(.connect, headers: headers)
    }
}
