internal import COpenSSL
import Glibc
import Synchronization

/// Closing: close_notify, draining the peer's last bytes, releasing the socket, and the
/// errors that end a channel.
extension TLSChannel {
    /// Ends the channel and tells the delegate. An orderly end of an open channel sends
    /// close_notify and drains (see `State.draining`); anything else releases at once.
    func finishClose(error: (any Error)?, orderly: Bool = false) {
        guard state != .closed, state != .draining else { return }
        let wasOpen = state == .open || state == .closing
        outbound = []
        if wasOpen && orderly {
            state = .draining
            deadline = .now + .seconds(2)
            sendCloseNotify()
        } else {
            release()
        }
        let delegate = self.delegate
        self.delegate = nil
        delegate?.channelDidClose(self, error: error)
    }

    /// Sends close_notify (retried on writability when the socket is full), then shuts our
    /// side down. Never waits for the peer's close_notify.
    func sendCloseNotify() {
        ERR_clear_error()
        let result = SSL_shutdown(ssl)
        if result < 0, SSL_get_error(ssl, result) == SSL_ERROR_WANT_WRITE {
            closeNotifyPending = true
            setInterest(readable: !readingPaused, writable: true)
            return
        }
        ERR_clear_error()
        closeNotifyPending = false
        _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
        setInterest(readable: !readingPaused, writable: false)
    }

    /// Reads and discards until the peer's end of stream (or an error), then releases.
    func drain() {
        let buffer = loop.readBuffer
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return }
            release()
            return
        }
    }

    /// Forgets the socket: deregisters and closes it.
    func release() {
        guard state != .closed else { return }
        state = .closed
        ERR_clear_error()
        loop.deregister(descriptor)
        if !closedFlag.exchange(true, ordering: .relaxed) { Glibc.close(descriptor) }
        outbound = []
    }

    func ioError(operation: String, result: Int32) -> any Error {
        let code = SSL_get_error(ssl, result)
        if code == SSL_ERROR_SYSCALL {
            let queue = OpenSSLError.drainQueue()
            if !queue.isEmpty { return OpenSSLError(operation: operation, queue: queue) }
            if errno != 0 && errno != EAGAIN { return SystemError(call: operation, errno: errno) }
            return ChannelClosedError(reason: "\(remoteAddress) closed the connection without a TLS close_notify")
        }
        return OpenSSLError.drain(operation)
    }
}
