public import Testing

extension Tag {
    /// Suites that load the machine for long stretches (SIGKILL cycles, a big replay, a stalled
    /// subscriber): `Tests/run` runs them in a pass of their own, after the main one.
    @Tag public static var heavy: Self

    /// Suites whose subject is timing on the wall clock (heart-beat intervals, handshake
    /// timeouts): `Tests/run` runs them last and alone, where no other test takes their CPU.
    @Tag public static var timing: Self

    /// Suites that run three brokers, or drain a backlog one record per round trip: `Tests/run`
    /// runs them in a pass of their own, so that they neither starve nor are starved by the
    /// SIGKILL cycles of the heavy pass.
    @Tag public static var federation: Self
}
