/// Delivery events as log records (kind `delivery`); the destination is the message's. A
/// batch record (the form written now) names one subscription in its headers and holds its
/// events in the body, a line per run (Schemas/log-format.md section 7):
///
///     muster-consumer, muster-consumer-generation, muster-party, muster-subscription (below)
///     muster-at                  the first event's time (ms since 1970); the lines' times are relative to it
///     muster-events              how many events the body holds
///
/// A single-form record (logs written before) holds one event, no body, and these headers:
///
///     muster-event               delivered | consumed | acked | nacked | expired | released | dead-lettered | pruned
///     muster-consumer            queue:/queue/NAME | durable:JURISDICTION/PARTY/ID | session:N/ID
///     muster-consumer-generation which incarnation of a durable consumer (decimal)
///     muster-offset              the message's offset
///     muster-party               JURISDICTION/PARTY the delivery went to
///     muster-subscription        the subscription id
///     muster-delivery-count      which delivery of the message (1 = first)
///     muster-delivered-at        when that delivery was sent (ms since 1970)
///     muster-at                  when the event happened (ms since 1970)
///     muster-reason              why (expiries, NACKs, dead letters); optional
public enum DeliveryRecordHeader {
    public static let event = "muster-event"
    public static let consumer = "muster-consumer"
    public static let generation = "muster-consumer-generation"
    public static let offset = "muster-offset"
    public static let party = "muster-party"
    public static let subscription = "muster-subscription"
    public static let deliveryCount = "muster-delivery-count"
    public static let deliveredAt = "muster-delivered-at"
    public static let at = "muster-at"
    public static let reason = "muster-reason"
    public static let events = "muster-events"

    public static let all: Set<String> = [event, consumer, generation, offset, party, subscription, deliveryCount, deliveredAt, at, reason, events]
}
