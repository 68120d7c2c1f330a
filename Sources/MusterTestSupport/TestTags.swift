public import Testing

extension Tag {
    /// Suites that load the machine for long stretches (SIGKILL cycles, a big replay, a stalled
    /// subscriber): `Tests/run` runs them in a pass of their own, after the main one.
    @Tag public static var heavy: Self

    /// Suites whose subject is timing on the wall clock (heart-beat intervals, handshake
    /// timeouts): `Tests/run` runs them last and alone, where no other test takes their CPU.
    @Tag public static var timing: Self
}
