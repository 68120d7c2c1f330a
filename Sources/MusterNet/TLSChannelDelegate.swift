/// Receives a `TLSChannel`'s events, always on the channel's event loop thread.
public protocol TLSChannelDelegate: AnyObject {
    /// The handshake finished and the peer's certificate was verified.
    func channelDidOpen(_ channel: TLSChannel)
    /// Decrypted bytes arrived; `bytes` is only valid during the call.
    func channel(_ channel: TLSChannel, didRead bytes: UnsafeRawBufferPointer)
    /// The channel closed; `error` is nil for an orderly close by either side.
    func channelDidClose(_ channel: TLSChannel, error: (any Error)?)
    /// Periodic tick (heart-beats); see `EventLoop.tickInterval`.
    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant)
    /// Everything queued so far was handed to the socket (a reader that paused for a slow
    /// peer may queue more now).
    func channelDidDrain(_ channel: TLSChannel)
}

extension TLSChannelDelegate {
    public func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {}
    public func channelDidDrain(_ channel: TLSChannel) {}
}

/// Why a TLS handshake failed, in words a user can act on.
public struct TLSHandshakeError: Error, CustomStringConvertible, Sendable {
    public let peer: String
    public let reason: String
    public var description: String { "TLS handshake with \(peer) failed: \(reason)" }
}

/// The peer closed the connection without a TLS close_notify, or the socket failed.
public struct ChannelClosedError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
}
