/// Delivery events as log records (kind `delivery`): the destination is the message's, the
/// body is empty, and the headers say what happened, to whom, and when:
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

    public static let all: Set<String> = [event, consumer, generation, offset, party, subscription, deliveryCount, deliveredAt, at, reason]
}
