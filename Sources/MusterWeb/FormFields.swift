/// The fields of an `application/x-www-form-urlencoded` body or of a query string, in order.
/// A name may repeat (`to=a&to=b`); `+` is a space; `%XX` is a byte; the result must be UTF-8.
public struct FormFields: Sendable, Equatable {
    public let pairs: [(name: String, value: String)]

    public init(pairs: [(name: String, value: String)]) {
        self.pairs = pairs
    }

    public static func == (lhs: FormFields, rhs: FormFields) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0.name == $1.name && $0.value == $1.value }
    }

    /// The first value of `name`, trimmed; nil when absent or blank.
    public subscript(_ name: String) -> String? {
        guard let value = pairs.first(where: { $0.name == name })?.value.trimmedWhitespace, !value.isEmpty else { return nil }
        return value
    }

    /// Every non-blank value of `name`, trimmed.
    public func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value.trimmedWhitespace).filter { !$0.isEmpty }
    }

    /// Reads `text`; nil when an escape is broken or a decoded value is not UTF-8.
    public static func parse(_ text: some Collection<UInt8>) -> FormFields? {
        var pairs: [(name: String, value: String)] = []
        for part in text.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = part.firstIndex(of: UInt8(ascii: "="))
            let name = equals.map { part[part.startIndex..<$0] } ?? part[...]
            let value = equals.map { part[part.index(after: $0)...] } ?? part[part.endIndex...]
            guard let decodedName = decode(name), let decodedValue = decode(value) else { return nil }
            pairs.append((decodedName, decodedValue))
        }
        return FormFields(pairs: pairs)
    }

    public static func parse(_ text: String) -> FormFields? {
        parse(Array(text.utf8))
    }

    private static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): decoded.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                decoded.append(high << 4 | low)
            default: decoded.append(byte)
            }
        }
        return String(validating: decoded, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    var trimmedWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
