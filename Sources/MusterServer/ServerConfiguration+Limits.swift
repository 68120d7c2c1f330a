import MusterBroker
import MusterStomp

/// The `limits:` section of muster.yaml: frames, subscriptions, transactions, durable
/// subscriptions, connections and unfinished frames.
extension ServerConfiguration {
    static func readLimits(_ section: ConfigurationReader?) throws(ConfigurationError)
        -> (StompLimits, SessionSettings, ConnectionLimits.Settings, maxDurablePerParty: Int, maxFanOutLag: UInt64) {
        let frames = StompLimits.default
        var session = SessionSettings()
        var connections = ConnectionLimits.Settings()
        var maxDurable = DeliveryRules().maxDurablePerParty
        let defaultLag = DeliveryRules().maxFanOutLag
        guard let section else { return (frames, session, connections, maxDurable, defaultLag) }
        let limits = StompLimits(
            maxFrameBytes: try section.integer("max-frame-bytes", default: frames.maxFrameBytes, minimum: 1024),
            maxHeaderCount: try section.integer("max-header-count", default: frames.maxHeaderCount, minimum: 4),
            maxHeaderLineBytes: try section.integer("max-header-bytes", default: frames.maxHeaderLineBytes, minimum: 64),
            maxBodyBytes: try section.integer("max-body-bytes", default: frames.maxBodyBytes, minimum: 0))
        session.maxSubscriptions = try section.integer("max-subscriptions", default: session.maxSubscriptions, minimum: 1)
        session.maxTransactionFrames = try section.integer("max-transaction-frames", default: session.maxTransactionFrames, minimum: 1)
        session.maxTransactionBytes = try section.byteSize("max-transaction-bytes", default: session.maxTransactionBytes, minimum: 1024)
        session.maxTransactionBytesPerConnection = try section.byteSize("max-transaction-bytes-per-connection",
                                                                        default: session.maxTransactionBytesPerConnection, minimum: 1024)
        session.maxOpenTransactions = try section.integer("max-open-transactions", default: session.maxOpenTransactions, minimum: 1)
        maxDurable = try section.integer("max-durable-subscriptions-per-party", default: maxDurable, minimum: 1)
        connections.maxConnections = try section.integer("max-connections", default: connections.maxConnections, minimum: 1)
        connections.maxConnectionsPerParty = try section.integer("max-connections-per-party", default: connections.maxConnectionsPerParty, minimum: 1)
        connections.inboundBufferBytes = try section.byteSize("max-inbound-buffer-bytes", default: connections.inboundBufferBytes, minimum: 64 << 10)
        if let timeout = try section.duration("frame-timeout") { connections.frameTimeout = .milliseconds(timeout) }
        let fanOutLag = try section.integer("max-fan-out-lag", default: Int(defaultLag), minimum: 2)
        try section.rejectUnknownKeys()
        return (limits, session, connections, maxDurable, UInt64(fanOutLag))
    }
}
