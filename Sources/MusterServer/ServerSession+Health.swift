import MusterBroker
import MusterNet
import MusterProtocol
import MusterStomp

/// Connection health, on every tick of the connection's loop: CONNECT within its timeout,
/// heart-beats both ways, and no frame left unfinished beyond the frame timeout.
extension ServerSession {
    func channelTick(_ channel: TLSChannel, now: ContinuousClock.Instant) {
        guard let machine, !machine.isClosed else { return }
        for stream in streams.values { stream.tick() }
        recordExportAcknowledgements(now: now)
        // Not reading the socket (fan-out is behind): nothing arrives, and nothing is overdue for it.
        if waitingForFanOut { lastRead = now }
        if !waitingForFanOut, unfinished.overdue(now: now, limits: connectionLimits) != nil {
            channel.readNow()  // read before judging: after a stall the rest may be waiting in the socket
            guard channel.isOpen, self.machine?.isClosed == false else { return }
        }
        if !waitingForFanOut, let overdue = unfinished.overdue(now: now, limits: connectionLimits) {
            logger.notice("closing: \(overdue.message)")
            return perform(self.machine!.fail(overdue))
        }
        guard let heartbeat else {
            if now - openedAt > connectTimeout {
                perform(self.machine!.fail(BrokerError(.notConnected, "no CONNECT frame within \(connectTimeout) of the handshake")))
            }
            return
        }
        let sinceWrite = Int((now - Self.epoch) / .milliseconds(1)) - Int(lastWriteNanoseconds.load(ordering: .relaxed) / 1_000_000)
        var sinceRead = Int((now - lastRead) / .milliseconds(1))
        if heartbeat.decide(sinceRead: sinceRead, sinceWrite: sinceWrite) == .peerSilent {
            channel.readNow()  // read before judging: after a stall the beats may be waiting in the socket
            guard channel.isOpen, self.machine?.isClosed == false else { return }
            sinceRead = max(0, Int((now - lastRead) / .milliseconds(1)))
        }
        switch heartbeat.decide(sinceRead: sinceRead, sinceWrite: sinceWrite) {
        case .idle: break
        case .sendHeartbeat: write(StompFrameEncoder.heartbeat)
        case .peerSilent:
            logger.notice("closing: no heart-beat for \(sinceRead) ms")
            perform(self.machine!.fail(BrokerError(.heartbeatTimeout, "nothing received for \(sinceRead) ms; the agreed interval is \(heartbeat.agreement.expectEvery) ms")))
        }
    }
}
