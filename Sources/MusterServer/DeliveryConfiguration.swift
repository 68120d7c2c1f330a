import MusterBroker
import MusterProtocol

/// The `delivery:` section of muster.yaml: ack-wait, max-deliveries and dead-letter destination,
/// as defaults and per destination (the first matching rule wins):
///
///     delivery:
///       ack-wait: 30s
///       max-deliveries: unlimited
///       dead-letter: /queue/muster.dead-letters
///       destinations:
///         - destination: /queue/work-orders*
///           ack-wait: 5m
///           max-deliveries: 5
enum DeliveryConfiguration {
    static func read(_ section: ConfigurationReader?) throws(ConfigurationError) -> DeliveryRules {
        guard let section else { return DeliveryRules() }
        let fallback = try policy(section, base: DeliveryPolicy())
        let rules = try section.list("destinations") { rule throws(ConfigurationError) in
            guard let pattern = try rule.string("destination") else {
                throw rule.error("destination", "is required: an exact destination, a prefix ending in *, or *")
            }
            guard pattern == "*" || pattern.hasPrefix("/topic/") || pattern.hasPrefix("/queue/") else {
                throw rule.error("destination", "'\(pattern)' must start with /topic/ or /queue/ (or be *)")
            }
            let policy = try policy(rule, base: fallback)
            try rule.rejectUnknownKeys()
            return DeliveryRules.Rule(pattern: pattern, policy: policy)
        }
        try section.rejectUnknownKeys()
        return DeliveryRules(rules: rules, fallback: fallback)
    }

    private static func policy(_ section: ConfigurationReader, base: DeliveryPolicy) throws(ConfigurationError) -> DeliveryPolicy {
        var policy = base
        if let wait = try section.duration("ack-wait") { policy.ackWait = wait }
        if let text = try section.string("max-deliveries") {
            if text == "unlimited" {
                policy.maxDeliveries = nil
            } else {
                guard let count = Int(text), count >= 1 else {
                    throw section.error("max-deliveries", "'\(text)' must be a number of deliveries (1 or more) or unlimited")
                }
                policy.maxDeliveries = count
            }
        }
        if let text = try section.string("dead-letter") {
            do throws(BrokerError) {
                policy.deadLetter = try Destination(parsing: text)
            } catch {
                throw section.error("dead-letter", "'\(text)' is not a destination: \(error.message)")
            }
        }
        return policy
    }
}
