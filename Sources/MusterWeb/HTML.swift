import Glibc

/// Text made safe for HTML, and the few formats the board's pages share.
enum HTML {
    /// Escapes `&`, `<`, `>`, `"` and `'`: safe in element content and in quoted attributes. A
    /// carriage return is written as a reference too, so no raw one reaches a page or an event stream.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\r": escaped += "&#13;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A time of day (`09:40:05`, the broker's time zone), in a `<time>` element carrying the instant.
    static func time(_ milliseconds: Int64?) -> String {
        guard let milliseconds else { return "–" }
        var seconds = time_t(milliseconds / 1000)
        var local = tm()
        localtime_r(&seconds, &local)
        let clock = "\(twoDigits(Int64(local.tm_hour))):\(twoDigits(Int64(local.tm_min))):\(twoDigits(Int64(local.tm_sec)))"
        return "<time data-ms=\"\(milliseconds)\">\(clock)</time>"
    }

    /// A party as people know it: its own name, then `jurisdiction/party` (the workflows' form) in small type.
    static func party(_ identity: String, names: [String: String]) -> String {
        let id = identity.split(separator: "/").last.map(String.init) ?? identity
        guard let name = names[id], name != id else { return "<code>\(escape(identity))</code>" }
        return "\(escape(name)) <code class=\"id\">\(escape(identity))</code>"
    }

    /// `1h 05m`, `12m 30s`, `45s`.
    static func duration(_ milliseconds: Int64) -> String {
        let seconds = max(0, milliseconds / 1000)
        if seconds >= 3600 { return "\(seconds / 3600)h \(twoDigits((seconds % 3600) / 60))m" }
        if seconds >= 60 { return "\(seconds / 60)m \(twoDigits(seconds % 60))s" }
        return "\(seconds)s"
    }

    static func duration(_ milliseconds: Int64?) -> String {
        milliseconds.map { duration($0) } ?? "–"
    }

    private static func twoDigits(_ value: Int64) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
