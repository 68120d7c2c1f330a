/// One figure of a run: `throughput 101,234 msg/s`.
public struct BenchMetric: Sendable, Equatable {
    public let name: String
    public let value: Double
    public let unit: String

    public init(_ name: String, _ value: Double, _ unit: String) {
        self.name = name
        self.value = value
        self.unit = unit
    }
}

/// What one scenario run measured, with the parameters that shaped it.
public struct BenchResult: Sendable {
    public let scenario: String
    public let parameters: String
    public let metrics: [BenchMetric]

    public init(scenario: String, parameters: String, metrics: [BenchMetric]) {
        self.scenario = scenario
        self.parameters = parameters
        self.metrics = metrics
    }

    public func value(of name: String) -> Double? {
        metrics.first { $0.name == name }?.value
    }
}

/// Renders results for people (a table) and for scripts (CSV rows `label,scenario,metric,value,unit`).
public enum BenchReport {
    public static let csvHeader = "label,scenario,metric,value,unit"

    public static func table(_ result: BenchResult, label: String) -> String {
        var lines = ["\(label) \(result.scenario) (\(result.parameters))"]
        let width = result.metrics.map(\.name.count).max() ?? 0
        for metric in result.metrics {
            let name = metric.name.padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append("  \(name)  \(format(metric.value)) \(metric.unit)")
        }
        return lines.joined(separator: "\n")
    }

    public static func csvRows(_ result: BenchResult, label: String) -> [String] {
        result.metrics.map { metric in
            [label, result.scenario, metric.name, plain(metric.value), metric.unit].map(csvField).joined(separator: ",")
        }
    }

    /// Thousands separated, with one decimal below 100 (latencies in µs, memory in MB).
    static func format(_ value: Double) -> String {
        if value.magnitude < 100 && value != value.rounded() {
            return String(Double(Int((value * 10).rounded())) / 10)
        }
        let whole = Int(value.rounded())
        let digits = String(whole.magnitude)
        var grouped = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (whole < 0 ? "-" : "") + grouped
    }

    static func plain(_ value: Double) -> String {
        value == value.rounded() && value.magnitude < 1e15 ? String(Int(value)) : String(Double(Int((value * 100).rounded())) / 100)
    }

    static func csvField(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
