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

    /// The name in `bytes`, from the ones already seen when it is one of them (compared byte for
    /// byte, escapes included: only a name without escapes is kept), else from `decode`.
    mutating func name(_ bytes: ArraySlice<UInt8>, decode: (ArraySlice<UInt8>) throws(StompFrameError) -> String) throws(StompFrameError) -> String {
        guard bytes.count > Self.inlineLength else { return try decode(bytes) }
        for name in known where name.utf8.count == bytes.count && Self.spells(name, bytes) {
            return name
        }
        let name = try decode(bytes)
        if known.count < Self.capacity, Self.spells(name, bytes) { known.append(name) }
        return name
    }

    private static func spells(_ name: String, _ bytes: ArraySlice<UInt8>) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { stored in
            bytes.withUnsafeBufferPointer { stored.elementsEqual($0) }
        } ?? name.utf8.elementsEqual(bytes)
    }
}
