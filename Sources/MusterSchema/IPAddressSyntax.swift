/// The textual forms of IP addresses in RFC 3986 (used by URIs and email address literals).
enum IPAddressSyntax {
    /// dec-octet "." dec-octet "." dec-octet "." dec-octet, without leading zeros.
    static func isIPv4(_ text: ArraySlice<UInt8>) -> Bool {
        let parts = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy(URIFormat.isDigit) else { return false }
            if part.count > 1 && part.first == UInt8(ascii: "0") { return false }
            return (RFC3339Format.number(part) ?? 256) <= 255
        }
    }

    /// RFC 3986 IPv6address: eight groups of one to four hex digits, the last two of which
    /// may be an IPv4 address, with at most one "::" standing for one or more zero groups.
    static func isIPv6(_ text: ArraySlice<UInt8>) -> Bool {
        let colon = UInt8(ascii: ":")
        var doubleColon: Int? = nil
        var index = text.startIndex
        while index + 1 < text.endIndex {
            if text[index] == colon && text[index + 1] == colon {
                if doubleColon != nil { return false }
                doubleColon = index
            }
            index += 1
        }
        func groupCount(_ part: ArraySlice<UInt8>, mayEndWithIPv4: Bool) -> Int? {
            if part.isEmpty { return 0 }
            let groups = part.split(separator: colon, omittingEmptySubsequences: false)
            var count = 0
            for (position, group) in groups.enumerated() {
                if mayEndWithIPv4 && position == groups.count - 1 && group.contains(UInt8(ascii: ".")) {
                    guard isIPv4(group) else { return nil }
                    count += 2
                } else {
                    guard (1...4).contains(group.count), group.allSatisfy(URIFormat.isHexDigit) else { return nil }
                    count += 1
                }
            }
            return count
        }
        guard let doubleColon else { return groupCount(text, mayEndWithIPv4: true) == 8 }
        guard let left = groupCount(text[..<doubleColon], mayEndWithIPv4: false),
              let right = groupCount(text[(doubleColon + 2)...], mayEndWithIPv4: true) else { return false }
        return left + right <= 7
    }

    /// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
    static func isIPvFuture(_ text: ArraySlice<UInt8>) -> Bool {
        guard text.first == UInt8(ascii: "v") || text.first == UInt8(ascii: "V"),
              let dot = text.firstIndex(of: UInt8(ascii: ".")) else { return false }
        let version = text[(text.startIndex + 1)..<dot]
        let address = text[(dot + 1)...]
        return !version.isEmpty && version.allSatisfy(URIFormat.isHexDigit) && !address.isEmpty
            && address.allSatisfy { URIFormat.isUnreserved($0) || URIFormat.isSubDelimiter($0) || $0 == UInt8(ascii: ":") }
    }
}
