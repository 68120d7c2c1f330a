/// RFC 5321 section 4.1.2 `Mailbox`: Local-part "@" ( Domain / address-literal ).
///
/// The local part is a dot-string of atoms or a quoted string; the domain is dot-separated
/// labels of letters, digits and inner hyphens, or an [IPv4] / [IPv6:...] literal.
enum EmailFormat {
    static func problem(_ bytes: [UInt8]) -> String? {
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return "there is no '@'" }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        if let problem = localPartProblem(local) { return problem }
        return domainProblem(domain)
    }

    private static func localPartProblem(_ local: ArraySlice<UInt8>) -> String? {
        guard !local.isEmpty else { return "the part before '@' is empty" }
        if local.first == UInt8(ascii: "\"") {
            guard local.count >= 2, local.last == UInt8(ascii: "\"") else { return "the quoted local part is not closed" }
            var escaped = false
            for byte in local.dropFirst().dropLast() {
                if escaped {
                    guard (32...126).contains(byte) else { return "invalid character in the quoted local part" }
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else {
                    guard (32...126).contains(byte), byte != UInt8(ascii: "\"") else { return "invalid character in the quoted local part" }
                }
            }
            return escaped ? "the quoted local part ends with a lone backslash" : nil
        }
        let atoms = local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for atom in atoms {
            guard !atom.isEmpty else { return "the part before '@' has an empty dot-separated piece" }
            guard atom.allSatisfy(isAtomText) else { return "the part before '@' has a character that must be quoted" }
        }
        return nil
    }

    private static func domainProblem(_ domain: ArraySlice<UInt8>) -> String? {
        guard !domain.isEmpty else { return "the domain after '@' is empty" }
        if domain.first == UInt8(ascii: "[") {
            guard domain.last == UInt8(ascii: "]") else { return "the address literal has no closing ']'" }
            let literal = domain.dropFirst().dropLast()
            // The tag is case-insensitive, as ABNF strings are.
            if literal.count > 5, String(decoding: literal.prefix(5), as: UTF8.self).lowercased() == "ipv6:" {
                return IPAddressSyntax.isIPv6(literal.dropFirst(5)) ? nil : "the address literal is not an IPv6 address"
            }
            return IPAddressSyntax.isIPv4(literal) ? nil : "the address literal is not an IPv4 address"
        }
        for label in domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last else { return "the domain has an empty label" }
            guard label.allSatisfy({ URIFormat.isAlpha($0) || URIFormat.isDigit($0) || $0 == UInt8(ascii: "-") }),
                  first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else {
                return "domain labels are letters, digits and inner hyphens"
            }
        }
        return nil
    }

    /// RFC 5322 atext.
    private static func isAtomText(_ byte: UInt8) -> Bool {
        URIFormat.isAlpha(byte) || URIFormat.isDigit(byte) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
    }
}
