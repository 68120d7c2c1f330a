/// RFC 3986 `URI`: scheme ":" hier-part [ "?" query ] [ "#" fragment ], ASCII only, with
/// every character in the class its component allows and `%` followed by two hex digits.
enum URIFormat {
    static func problem(_ bytes: [UInt8]) -> String? {
        if let byte = bytes.first(where: { $0 >= 0x80 || $0 <= 0x20 || $0 == 0x7F }) {
            return byte >= 0x80 ? "a URI is ASCII only; percent-encode other characters"
                                : "a URI cannot contain spaces or control characters"
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return "there is no scheme (such as https:)" }
        let scheme = bytes[..<colon]
        guard let first = scheme.first, isAlpha(first),
              scheme.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
            return "the scheme must be a letter followed by letters, digits, '+', '-' or '.'"
        }
        var rest = bytes[(colon + 1)...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) {
            if let problem = invalidCharacter(in: rest[(hash + 1)...], allowing: "/?", component: "fragment") { return problem }
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: UInt8(ascii: "?")) {
            if let problem = invalidCharacter(in: rest[(question + 1)...], allowing: "/?", component: "query") { return problem }
            rest = rest[..<question]
        }
        if rest.starts(with: [UInt8(ascii: "/"), UInt8(ascii: "/")]) {
            let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
            let authorityEnd = rest[afterSlashes...].firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            if let problem = authorityProblem(rest[afterSlashes..<authorityEnd]) { return problem }
            rest = rest[authorityEnd...]
        }
        return invalidCharacter(in: rest, allowing: "/", component: "path")
    }

    /// authority = [ userinfo "@" ] host [ ":" port ]
    private static func authorityProblem(_ authority: ArraySlice<UInt8>) -> String? {
        var hostAndPort = authority
        if let at = authority.firstIndex(of: UInt8(ascii: "@")) {
            if let problem = invalidCharacter(in: authority[..<at], allowing: ":", component: "user information", pathCharacters: false) {
                return problem
            }
            hostAndPort = authority[(at + 1)...]
        }
        var port: ArraySlice<UInt8> = []
        if hostAndPort.first == UInt8(ascii: "[") {
            guard let close = hostAndPort.firstIndex(of: UInt8(ascii: "]")) else { return "the IP literal has no closing ']'" }
            let literal = hostAndPort[(hostAndPort.startIndex + 1)..<close]
            if !IPAddressSyntax.isIPv6(literal) && !IPAddressSyntax.isIPvFuture(literal) {
                return "'[\(String(decoding: literal, as: UTF8.self))]' is not an IPv6 address"
            }
            let afterLiteral = hostAndPort[(close + 1)...]
            if !afterLiteral.isEmpty {
                guard afterLiteral.first == UInt8(ascii: ":") else { return "only ':' and a port may follow the IP literal" }
                port = afterLiteral.dropFirst()
            }
        } else {
            var host = hostAndPort
            if let colon = hostAndPort.firstIndex(of: UInt8(ascii: ":")) {
                host = hostAndPort[..<colon]
                port = hostAndPort[(colon + 1)...]
            }
            if let problem = invalidCharacter(in: host, allowing: "", component: "host", pathCharacters: false) { return problem }
        }
        guard port.allSatisfy(isDigit) else { return "the port must be digits" }
        return nil
    }

    /// Checks that every byte is unreserved, a sub-delimiter, a valid percent-encoding, one of
    /// `allowing`, or (for path characters) ':' or '@'.
    private static func invalidCharacter(in text: ArraySlice<UInt8>, allowing extra: String, component: String,
                                         pathCharacters: Bool = true) -> String? {
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < text.endIndex, isHexDigit(text[index + 1]), isHexDigit(text[index + 2]) else {
                    return "'%' in the \(component) must be followed by two hex digits"
                }
                index += 3
                continue
            }
            let allowed = isUnreserved(byte) || isSubDelimiter(byte) || extra.utf8.contains(byte)
                || (pathCharacters && (byte == UInt8(ascii: ":") || byte == UInt8(ascii: "@")))
            guard allowed else { return "'\(Character(Unicode.Scalar(byte)))' is not allowed in the \(component)" }
            index += 1
        }
        return nil
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        isAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
    }

    static func isSubDelimiter(_ byte: UInt8) -> Bool {
        "!$&'()*+,;=".utf8.contains(byte)
    }

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
}
