import Testing
@testable import MusterSchema

/// The `format` checks, against the grammar each RFC gives.
@Suite("JSON Schema formats")
struct JSONFormatTests {
    struct Conforming: Sendable, CustomTestStringConvertible {
        let format: StringFormat
        let text: String
        init(_ format: StringFormat, _ text: String) {
            self.format = format
            self.text = text
        }
        var testDescription: String { "\(format.rawValue) \(text.debugDescription)" }
    }

    struct Refused: Sendable, CustomTestStringConvertible {
        let format: StringFormat
        let text: String
        let problem: String
        init(_ format: StringFormat, _ text: String, _ problem: String) {
            self.format = format
            self.text = text
            self.problem = problem
        }
        var testDescription: String { "\(format.rawValue) \(text.debugDescription)" }
    }

    @Test(arguments: [
        Conforming(.dateTime, "2026-11-21T09:30:00+08:00"),
        Conforming(.dateTime, "2026-11-21T09:30:00Z"),
        Conforming(.dateTime, "2026-11-21T09:30:00.123456-05:30"),
        Conforming(.dateTime, "2026-11-21t09:30:00z"),              // RFC 3339 5.6: T and Z may be lower case
        Conforming(.dateTime, "2024-02-29T00:00:00Z"),
        Conforming(.dateTime, "2000-02-29T00:00:00Z"),
        Conforming(.dateTime, "2026-12-31T23:59:59-00:00"),
        Conforming(.dateTime, "1998-12-31T23:59:60Z"),              // a leap second, at 23:59:60 UTC
        Conforming(.dateTime, "1998-12-31T15:59:60.123-08:00"),     // the same leap second, in Pacific time
        Conforming(.dateTime, "0000-01-01T00:00:00Z"),              // RFC 3339 years run 0000-9999
        Conforming(.date, "2026-11-21"),
        Conforming(.date, "2024-02-29"),
        Conforming(.time, "09:30:00+08:00"),
        Conforming(.time, "23:59:60Z"),
        Conforming(.time, "07:59:60+08:00"),
        Conforming(.time, "00:00:00.5z"),
        Conforming(.time, "23:29:60+23:30"),
        Conforming(.time, "00:29:60-23:30"),
        Conforming(.time, "12:34:56-00:00"),
    ])
    func acceptsRFC3339DatesAndTimes(_ example: Conforming) {
        #expect(example.format.problem(in: example.text) == nil)
    }

    @Test(arguments: [
        Refused(.dateTime, "2026-13-01T00:00:00Z", "month 13 does not exist"),
        Refused(.dateTime, "2026-00-10T00:00:00Z", "month 0 does not exist"),
        Refused(.dateTime, "2026-02-29T00:00:00Z", "2026 is not a leap year"),
        Refused(.dateTime, "2100-02-29T00:00:00Z", "2100 is not a leap year"),
        Refused(.dateTime, "2026-04-31T00:00:00Z", "day 31 does not exist in month 4 (it has 30 days)"),
        Refused(.dateTime, "2026-01-00T00:00:00Z", "day 0 does not exist in month 1 (it has 31 days)"),
        Refused(.dateTime, "2026-11-21T09:30:00", "the time has no offset: add Z (UTC) or an offset such as +08:00"),
        Refused(.dateTime, "2026-11-21 09:30:00Z", "the date and time must be separated by 'T'"),
        Refused(.dateTime, "2026-11-21T24:00:00Z", "hour 24 does not exist"),
        Refused(.dateTime, "2026-11-21T09:60:00Z", "minute 60 does not exist"),
        Refused(.dateTime, "2026-11-21T09:30:61Z", "second 61 does not exist"),
        Refused(.dateTime, "2026-11-21T12:00:60Z", "second 60 exists only in a leap second, at 23:59:60 UTC"),
        Refused(.dateTime, "2026-11-21T23:59:60+08:00", "second 60 exists only in a leap second, at 23:59:60 UTC"),
        Refused(.dateTime, "2026-11-21T09:30:00.Z", "the decimal point must be followed by digits"),
        Refused(.dateTime, "2026-11-21T09:30:00+0800", "the offset must be Z or +HH:MM / -HH:MM"),
        Refused(.dateTime, "2026-11-21T09:30:00+24:00", "the offset +24:00 does not exist"),
        Refused(.dateTime, "2026-11-21T09:30:00Z\n", "nothing may follow the Z offset"),
        Refused(.dateTime, "2026-11-21T09:30Z", "the time must be HH:MM:SS followed by Z or an offset such as +08:00"),
        Refused(.dateTime, "2026-1-21T09:30:00Z", "the date must be YYYY-MM-DD"),
        Refused(.dateTime, "２026-11-21T09:30:00Z", "the date must be YYYY-MM-DD"),
        Refused(.dateTime, "2026-11-21", "the form is YYYY-MM-DDTHH:MM:SS followed by Z or an offset such as +08:00"),
        Refused(.dateTime, "tomorrow", "the date must be YYYY-MM-DD"),
        Refused(.date, "2026-02-29", "2026 is not a leap year"),
        Refused(.date, "20261121", "the date must be YYYY-MM-DD"),
        Refused(.date, "2026-11-21T00:00:00Z", "the date must be YYYY-MM-DD"),
        Refused(.time, "09:30:00", "the time has no offset: add Z (UTC) or an offset such as +08:00"),
        Refused(.time, "12:00:60Z", "second 60 exists only in a leap second, at 23:59:60 UTC"),
        Refused(.time, "01:02:03Z+00:30", "nothing may follow the Z offset"),
        Refused(.time, "23:59:60+01:00", "second 60 exists only in a leap second, at 23:59:60 UTC"),
        Refused(.time, "01:01:01,1111", "the time has no offset: add Z (UTC) or an offset such as +08:00"),
        Refused(.dateTime, "1963-06-19T08:30:06.28123+01:00Z", "the offset must be Z or +HH:MM / -HH:MM"),
        Refused(.dateTime, "+11963-06-19T08:30:06Z", "the date must be YYYY-MM-DD"),
        Refused(.time, "9:30:00Z", "the time must be HH:MM:SS followed by Z or an offset such as +08:00"),
    ])
    func refusesWhatRFC3339DoesNotAllow(_ example: Refused) {
        #expect(example.format.problem(in: example.text) == example.problem)
    }

    @Test(arguments: ["P1D", "PT36H", "P1DT12H", "P2W", "P1Y2M3DT4H5M6S", "PT0S", "P0D", "P1M", "PT1M", "P1Y0M1D",
                      "P1YT1H", "PT1H0M1S", "P1M1D", "PT1M1S", "P99999999999999999999D"])
    func acceptsRFC3339Durations(text: String) {
        #expect(StringFormat.duration.problem(in: text) == nil)
    }

    @Test(arguments: [
        Refused(.duration, "P", "P must be followed by at least one component such as 1D or T1H"),
        Refused(.duration, "PT", "T must be followed by at least one of H, M, S"),
        Refused(.duration, "P1DT", "T must be followed by at least one of H, M, S"),
        Refused(.duration, "1D", "a duration starts with P"),
        Refused(.duration, "p1d", "a duration starts with P"),
        Refused(.duration, " P1D", "a duration starts with P"),
        Refused(.duration, "P1D ", "unexpected ' '; each component is a whole number followed by a designator"),
        Refused(.duration, "P1", "the number 1 has no designator"),
        Refused(.duration, "P1D2H", "H is a time component and must come after T"),
        Refused(.duration, "P2S", "S is a time component and must come after T"),
        Refused(.duration, "PT1D", "'D' is not a time designator (H, M, S)"),
        Refused(.duration, "P2D1Y", "components must be in the order Y, M, D"),
        Refused(.duration, "PT1M1H", "components must be in the order H, M, S"),
        Refused(.duration, "P1Y2W", "weeks (W) cannot be combined with other components"),
        Refused(.duration, "P1W1D", "weeks (W) cannot be combined with other components"),
        Refused(.duration, "PW", "W must follow a whole number of weeks"),
        Refused(.duration, "P1.5D", "components must be whole numbers"),
        Refused(.duration, "PT0,5S", "components must be whole numbers"),
        Refused(.duration, "-P1D", "a duration starts with P"),
        Refused(.duration, "P-1D", "unexpected '-'; each component is a whole number followed by a designator"),
        Refused(.duration, "P1Y1D", "RFC 3339 does not allow skipping a component in between: write a zero instead (e.g. P1Y0M1D, PT1H0M1S)"),
        Refused(.duration, "P1D2T3H", "'T' is not a date designator (Y, M, D)"),
        Refused(.duration, "P1WT1H", "weeks (W) cannot be combined with other components"),
        Refused(.duration, "P0Y1W", "weeks (W) cannot be combined with other components"),
        Refused(.duration, "P1e2D", "'e' is not a date designator (Y, M, D)"),
        Refused(.duration, "P1D\n", "unexpected '\n'; each component is a whole number followed by a designator"),
        Refused(.duration, "PT1H1S", "RFC 3339 does not allow skipping a component in between: write a zero instead (e.g. P1Y0M1D, PT1H0M1S)"),
    ])
    func refusesWhatTheDurationGrammarDoesNotAllow(_ example: Refused) {
        #expect(example.format.problem(in: example.text) == example.problem)
    }

    @Test(arguments: ["https://example.org/path", "urn:isbn:0451450523", "mailto:duty@example.org", "http://[::1]:8080/p?q=1#f",
                      "http://[v1.x]/", "http://[::ffff:1.2.3.4]/", "http://[1:2:3:4:5:6:7::]/", "a:", "file:///x", "x:/a//b",
                      "http://a:b@host:99999999/", "http://ex%41mple/%7e?%20#%2F", "tel:+86-10-1234", "h://h/a;b=c,d!$&'()*+@:",
                      "http://127.0.0.1/", "foo+bar.baz-1:rest?q/?#f/?", "http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com",
                      "ldap://[2001:db8::7]/c=GB?objectClass?one", "http://a.com:", "http://:80", "http://@a.com", "http://user@",
                      "http://999.999.999.999/", "http://example.com."])
    func acceptsRFC3986URIs(text: String) {
        #expect(StringFormat.uri.problem(in: text) == nil)
    }

    @Test(arguments: [
        Refused(.uri, "http//x", "there is no scheme (such as https:)"),
        Refused(.uri, "//example.org/x", "there is no scheme (such as https:)"),
        Refused(.uri, "/relative/path", "there is no scheme (such as https:)"),
        Refused(.uri, ":x", "the scheme must be a letter followed by letters, digits, '+', '-' or '.'"),
        Refused(.uri, "1http://x", "the scheme must be a letter followed by letters, digits, '+', '-' or '.'"),
        Refused(.uri, "http://x y", "a URI cannot contain spaces or control characters"),
        Refused(.uri, " http://x", "a URI cannot contain spaces or control characters"),
        Refused(.uri, "http://x\n", "a URI cannot contain spaces or control characters"),
        Refused(.uri, "http://é.example/", "a URI is ASCII only; percent-encode other characters"),
        Refused(.uri, "http://exa%mple", "'%' in the host must be followed by two hex digits"),
        Refused(.uri, "http://a/%", "'%' in the path must be followed by two hex digits"),
        Refused(.uri, "http://a/b?c#d#e", "'#' is not allowed in the fragment"),
        Refused(.uri, "http://a/[", "'[' is not allowed in the path"),
        Refused(.uri, "http://a@b@c/", "'@' is not allowed in the host"),
        Refused(.uri, "http://a:x/", "the port must be digits"),
        Refused(.uri, "http://[::1/", "the IP literal has no closing ']'"),
        Refused(.uri, "http://[::1%25eth0]/", "'[::1%25eth0]' is not an IPv6 address"),
        Refused(.uri, "http://[1:2:3:4:5:6:7:8:9]/", "'[1:2:3:4:5:6:7:8:9]' is not an IPv6 address"),
        Refused(.uri, "http://[1::2::3]/", "'[1::2::3]' is not an IPv6 address"),
        Refused(.uri, "http://[::1]x/", "only ':' and a port may follow the IP literal"),
        Refused(.uri, "http://a/b\"c", "'\"' is not allowed in the path"),
        Refused(.uri, "https://[@example.org/test.txt", "'[' is not allowed in the user information"),
        Refused(.uri, "http://a.com:8:0", "the port must be digits"),
        Refused(.uri, "ht_tp://example.com", "the scheme must be a letter followed by letters, digits, '+', '-' or '.'"),
        Refused(.uri, "https://example.org/foobar{}.txt", "'{' is not allowed in the path"),
        Refused(.uri, "http://example.com/%6G", "'%' in the path must be followed by two hex digits"),
    ])
    func refusesWhatRFC3986DoesNotAllow(_ example: Refused) {
        #expect(example.format.problem(in: example.text) == example.problem)
    }

    @Test(arguments: ["duty@example.org", "a.b+c@sub.example.cn", "\"john doe\"@example.org", "x@[127.0.0.1]", "x@[IPv6:::1]",
                      "x@[ipv6:::1]", "user@localhost", "o'brien@x-ray.example", "\"joe@bloggs\"@example.com", "\"\"@iana.org",
                      "\"\\\"\"@iana.org", "~test@example.com", "test@c--n.com", "test@255.255.255.255"])
    func acceptsRFC5321Mailboxes(text: String) {
        #expect(StringFormat.email.problem(in: text) == nil)
    }

    @Test(arguments: [
        Refused(.email, "no-at-sign", "there is no '@'"),
        Refused(.email, "@example.org", "the part before '@' is empty"),
        Refused(.email, "a@", "the domain after '@' is empty"),
        Refused(.email, "a..b@example.org", "the part before '@' has an empty dot-separated piece"),
        Refused(.email, "a b@example.org", "the part before '@' has a character that must be quoted"),
        Refused(.email, "a@-example.org", "domain labels are letters, digits and inner hyphens"),
        Refused(.email, "a@example..org", "the domain has an empty label"),
        Refused(.email, "a@[300.1.1.1]", "the address literal is not an IPv4 address"),
        Refused(.email, "a@[RFC-5322-domain-literal]", "the address literal is not an IPv4 address"),
        Refused(.email, "a@b@c.org", "the part before '@' has a character that must be quoted"),
        Refused(.email, "test.@example.com", "the part before '@' has an empty dot-separated piece"),
        Refused(.email, "\"test\"test@iana.org", "the quoted local part is not closed"),
        Refused(.email, "\"test\\©\"@iana.org", "invalid character in the quoted local part"),
        Refused(.email, "test@iana.org.", "the domain has an empty label"),
        Refused(.email, "test@iana.org\n", "domain labels are letters, digits and inner hyphens"),
        Refused(.email, "a(comment)@iana.org", "the part before '@' has a character that must be quoted"),
    ])
    func refusesWhatRFC5321DoesNotAllow(_ example: Refused) {
        #expect(example.format.problem(in: example.text) == example.problem)
    }
}
