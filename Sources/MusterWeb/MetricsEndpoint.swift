public import Prometheus
import Synchronization

/// What the metrics endpoint answers: `GET /metrics` (only) gives the registry in Prometheus's text
/// exposition format (0.0.4), after `refresh` has set the gauges read at scrape time.
public struct MetricsEndpoint: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    let registry: PrometheusCollectorRegistry
    let refresh: @Sendable () -> Void
    /// One scrape at a time (the loopback endpoint and the board may scrape at once): a refresh
    /// from an older snapshot must not land after a newer one.
    private let serial = Serial()

    private final class Serial: Sendable {
        let lock = Mutex<Void>(())
    }

    public init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () -> Void = {}) {
        self.registry = registry
        self.refresh = refresh
    }

    public func respond(to reading: HTTPRequestHead.Reading) -> HTTPResponse {
        switch reading {
        case .incomplete:
            return HTTPResponse(status: 400, reason: "Bad Request", text: "the request head did not arrive in time\n")
        case .invalid(let reason):
            return HTTPResponse(status: 400, reason: "Bad Request", text: "\(reason)\n")
        case .complete(let head):
            guard head.path == "/metrics" else {
                return HTTPResponse(status: 404, reason: "Not Found", text: "only /metrics is served here\n")
            }
            guard head.method == "GET" else {
                return HTTPResponse(status: 405, reason: "Method Not Allowed", text: "/metrics answers GET only\n", extraFields: ["Allow: GET"])
            }
            return HTTPResponse(status: 200, reason: "OK", contentType: Self.contentType, body: exposition())
        }
    }

    /// The registry in the text format, gauges refreshed.
    public func exposition() -> [UInt8] {
        serial.lock.withLock { _ in
            refresh()
            return registry.emitToBuffer()
        }
    }
}
