/// A boolean header (`durable`, `requeue`, `muster-include-acks`, `muster-open`): `true` or
/// `false` in any case, as RabbitMQ reads them, since clients write `True` and `False` too
/// (stomp.py formats Python booleans).
public enum BooleanHeader {
    /// The value, or nil for anything but true or false.
    public static func parse(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }
}
