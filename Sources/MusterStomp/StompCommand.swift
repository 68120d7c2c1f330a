/// A STOMP 1.2 frame command, as it appears on the first line of a frame.
public enum StompCommand: String, Sendable, CaseIterable {
    case connect = "CONNECT"
    case stomp = "STOMP"
    case connected = "CONNECTED"
    case send = "SEND"
    case subscribe = "SUBSCRIBE"
    case unsubscribe = "UNSUBSCRIBE"
    case ack = "ACK"
    case nack = "NACK"
    case begin = "BEGIN"
    case commit = "COMMIT"
    case abort = "ABORT"
    case disconnect = "DISCONNECT"
    case message = "MESSAGE"
    case receipt = "RECEIPT"
    case error = "ERROR"
}

extension StompCommand {
    /// STOMP 1.2 leaves CONNECT and CONNECTED headers unescaped to stay compatible with STOMP 1.0.
    var escapesHeaders: Bool {
        self != .connect && self != .connected
    }

    /// Byte length of the longest command name; a longer command line can be refused unread.
    static let longestNameByteCount: Int = allCases.map(\.rawValue.utf8.count).max() ?? 0

    /// Command names as bytes, so decoding a command line never allocates a `String`.
    private static let namesAsBytes: [(bytes: [UInt8], command: StompCommand)] =
        allCases.map { (Array($0.rawValue.utf8), $0) }

    /// The command spelled by `bytes`, or nil when they spell none.
    init?(bytes: ArraySlice<UInt8>) {
        for entry in Self.namesAsBytes where entry.bytes.count == bytes.count {
            if entry.bytes.elementsEqual(bytes) {
                self = entry.command
                return
            }
        }
        return nil
    }
}
