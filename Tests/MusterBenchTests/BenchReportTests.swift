@testable import MusterBench
import Testing

/// How results are shown to people (the table) and to scripts (CSV rows under
/// `label,scenario,metric,value,unit`).
@Suite("bench report")
struct BenchReportTests {
    static let publish = BenchResult(
        scenario: "publish",
        parameters: "500 × 1024 B to /queue/bench.x, receipt every 50, 4 outstanding, 1 publisher(s)",
        metrics: [BenchMetric("throughput", 101_234.567, "msg/s"),
                  BenchMetric("messages", 500, "msg"),
                  BenchMetric("seconds", 0.004939, "s")])

    // MARK: The table

    @Test func tableStartsWithTheLabelTheScenarioAndItsParameters() {
        let lines = BenchReport.table(Self.publish, label: "muster").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "muster publish (500 × 1024 B to /queue/bench.x, receipt every 50, 4 outstanding, 1 publisher(s))")
    }

    @Test func tableHasOneLinePerMetricWithNamesPaddedToTheLongest() {
        let lines = BenchReport.table(Self.publish, label: "muster").split(separator: "\n", omittingEmptySubsequences: false)
        #expect(Array(lines.dropFirst()) == [
            "  throughput  101,235 msg/s",
            "  messages    500 msg",
            "  seconds     0.0 s",
        ])
    }

    @Test func tableOfAResultWithoutMetricsIsItsHeadingAlone() {
        let empty = BenchResult(scenario: "connections", parameters: "none", metrics: [])
        #expect(BenchReport.table(empty, label: "x") == "x connections (none)")
    }

    // MARK: Numbers for people

    @Test(arguments: [
        (0.0, "0"), (7.0, "7"), (999.0, "999"), (1000.0, "1,000"), (101_234.0, "101,234"), (1_234_567.0, "1,234,567"),
        (12_345_678_901.0, "12,345,678,901"), (-1234.0, "-1,234"), (-999_999.0, "-999,999"),
    ])
    func formatGroupsWholeNumbersByThousands(value: Double, shown: String) {
        #expect(BenchReport.format(value) == shown)
    }

    @Test(arguments: [(12.345, "12.3"), (0.25, "0.3"), (99.44, "99.4"), (3.5, "3.5"), (-2.75, "-2.8")])
    func formatKeepsOneDecimalForFractionsBelowAHundred(value: Double, shown: String) {
        #expect(BenchReport.format(value) == shown)
    }

    @Test(arguments: [(150.4, "150"), (150.5, "151"), (101_234.567, "101,235"), (1_999.5, "2,000")])
    func formatRoundsFractionsFromAHundredUpToWholeNumbers(value: Double, shown: String) {
        #expect(BenchReport.format(value) == shown)
    }

    // MARK: Numbers for scripts

    @Test(arguments: [(500.0, "500"), (0.0, "0"), (-3.0, "-3"), (101_234.0, "101234"), (1e14, "100000000000000")])
    func plainWritesWholeNumbersWithoutSeparatorsOrDecimals(value: Double, shown: String) {
        #expect(BenchReport.plain(value) == shown)
    }

    @Test(arguments: [(101_234.567, "101234.57"), (0.125, "0.13"), (99.9, "99.9"), (0.004939, "0.0"), (2.5, "2.5")])
    func plainRoundsFractionsToTwoDecimals(value: Double, shown: String) {
        #expect(BenchReport.plain(value) == shown)
    }

    @Test func percentileNamesComeFromPlainNumbers() {
        #expect([50.0, 90.0, 99.0, 99.9].map { "p\(BenchReport.plain($0))" } == ["p50", "p90", "p99", "p99.9"])
    }

    // MARK: CSV

    @Test func csvHeaderNamesTheFiveColumns() {
        #expect(BenchReport.csvHeader == "label,scenario,metric,value,unit")
    }

    @Test func csvHasOneRowPerMetricInTheHeadersColumnOrder() {
        #expect(BenchReport.csvRows(Self.publish, label: "muster") == [
            "muster,publish,throughput,101234.57,msg/s",
            "muster,publish,messages,500,msg",
            "muster,publish,seconds,0.0,s",
        ])
    }

    @Test func csvLeavesTheParametersOut() {
        let rows = BenchReport.csvRows(Self.publish, label: "muster")
        #expect(rows.allSatisfy { !$0.contains("queue") && !$0.contains("receipt") })
    }

    @Test func csvFieldLeavesPlainTextAlone() {
        #expect(BenchReport.csvField("rabbitmq-quorum") == "rabbitmq-quorum")
        #expect(BenchReport.csvField("") == "")
        #expect(BenchReport.csvField("µs") == "µs")
    }

    @Test func csvFieldQuotesAComma() {
        #expect(BenchReport.csvField("muster, 3 nodes") == "\"muster, 3 nodes\"")
    }

    @Test func csvFieldQuotesAQuoteAndDoublesIt() {
        #expect(BenchReport.csvField(#"the "fast" disk"#) == #""the ""fast"" disk""#)
        #expect(BenchReport.csvField("\"") == "\"\"\"\"")
    }

    @Test func csvFieldQuotesALineBreak() {
        #expect(BenchReport.csvField("two\nlines") == "\"two\nlines\"")
    }

    /// A bare carriage return ends a record for CSV readers (Python's csv module refuses it
    /// unquoted), so it is quoted like a newline, as `muster log dump --format csv` does.
    @Test func csvFieldQuotesACarriageReturn() {
        #expect(BenchReport.csvField("two\rlines") == "\"two\rlines\"")
    }

    @Test func csvRowsReadBackAsFiveFieldsWhateverTheLabel() throws {
        let label = #"muster "embedded", fsync on"#
        for row in BenchReport.csvRows(Self.publish, label: label) {
            let fields = try #require(CSV.fields(of: row), "\(row) is not valid CSV")
            #expect(fields.count == 5, "\(row)")
            #expect(fields.first == label)
            #expect(fields[1] == "publish")
        }
    }

    // MARK: Looking a figure up

    @Test func valueOfNamesAMetric() {
        #expect(Self.publish.value(of: "messages") == 500)
        #expect(Self.publish.value(of: "throughput") == 101_234.567)
    }

    @Test func valueOfAMetricTheResultDoesNotHaveIsNil() {
        #expect(Self.publish.value(of: "p99") == nil)
        #expect(Self.publish.value(of: "") == nil)
        #expect(Self.publish.value(of: "Messages") == nil)
    }

    @Test func valueOfARepeatedNameIsTheFirst() {
        let result = BenchResult(scenario: "s", parameters: "", metrics: [BenchMetric("x", 1, "u"), BenchMetric("x", 2, "u")])
        #expect(result.value(of: "x") == 1)
    }
}

/// A small RFC 4180 reader for one record: the fields, or nil when the text is not valid CSV.
enum CSV {
    static func fields(of line: String) -> [String]? {
        var fields: [String] = []
        var field = ""
        var characters = Array(line)[...]
        var quoted = false
        var startOfField = true
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        characters.removeFirst()
                        field.append("\"")
                    } else {
                        quoted = false
                        guard characters.isEmpty || characters.first == "," else { return nil }
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                guard startOfField else { return nil }
                quoted = true
                startOfField = false
            } else if character == "," {
                fields.append(field)
                field = ""
                startOfField = true
            } else {
                guard character != "\n" && character != "\r" else { return nil }
                field.append(character)
                startOfField = false
            }
        }
        guard !quoted else { return nil }
        fields.append(field)
        return fields
    }
}
