/// The long header names one connection keeps sending (`muster-sender-jurisdiction`,
/// `muster-origin-hash`, …), decoded once and shared by every frame after: a name of more than
/// 15 bytes is a heap-allocated string, made and freed for each header of each frame otherwise.
/// Shorter names are stored inline by `String` and gain nothing here.
struct StompHeaderNames: Sendable {
    private var known: [String] = []
    /// Enough for Muster's own headers and an application's; a connection that sends more
    /// distinct long names only decodes the others each time.
    static let capacity = 48
    static let inlineLength = 15
    /// Longer names are not kept (a connection could otherwise pin 48 names of 8 KiB each).
    static let longest = 64

    /// The name in `bytes`, from the ones already seen when it is one of them (compared byte for
    /// byte), else from `decode`.
    mutating func name(_ bytes: ArraySlice<UInt8>, decode: (ArraySlice<UInt8>) throws(StompFrameError) -> String) throws(StompFrameError) -> String {
        guard bytes.count > Self.inlineLength, bytes.count <= Self.longest else { return try decode(bytes) }
        for name in known where name.utf8.count == bytes.count && Self.spells(name, bytes) {
            return name
        }
        let name = try decode(bytes)
        // Only a name without a backslash: it reads the same in every frame (CONNECT's names
        // are not unescaped, a SEND's are), so it may stand for its bytes in any of them.
        if known.count < Self.capacity, !bytes.contains(UInt8(ascii: "\\")) { known.append(name) }
        return name
    }

    private static func spells(_ name: String, _ bytes: ArraySlice<UInt8>) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { stored in
            bytes.withUnsafeBufferPointer { stored.elementsEqual($0) }
        } ?? name.utf8.elementsEqual(bytes)
    }
}
