import MusterProtocol
import Testing

/// The one duration grammar of the command line and the configuration.
@Suite("Duration text")
struct DurationTextTests {
    @Test(arguments: [
        ("500ms", 500), ("90s", 90_000), ("30m", 1_800_000), ("1h30m", 5_400_000), ("12h", 43_200_000), ("400d", 34_560_000_000),
        ("2w", 1_209_600_000), ("1d2h3m4s5ms", 93_784_005), ("0s", 0),
        ("PT30M", 1_800_000), ("P1DT2H", 93_600_000), ("P2W", 1_209_600_000), ("PT1H30M", 5_400_000),
    ] as [(String, Int64)])
    func readsUnitsAndISO8601Alike(text: String, milliseconds: Int64) {
        #expect(DurationText.milliseconds(text) == milliseconds)
    }

    @Test(arguments: ["", "30", "m", "1.5h", "30m1h", "1m1m", "30 m", "-5s", "1y", "P1Y", "P1M", "P1DT", "PT", "P", "1h30", "99999999999999999999s"])
    func refusesWhatIsNotADuration(text: String) {
        #expect(DurationText.milliseconds(text) == nil)
    }

    @Test func writesWholeSecondsAsISO8601() {
        #expect(DurationText.iso8601(milliseconds: 1_800_000) == "PT30M")
        #expect(DurationText.iso8601(milliseconds: 93_784_000) == "P1DT2H3M4S")
        #expect(DurationText.iso8601(milliseconds: 86_400_000) == "P1D")
        #expect(DurationText.iso8601(milliseconds: 0) == "PT0S")
        #expect(DurationText.iso8601(milliseconds: 1_500) == nil, "ISO durations in messages count whole seconds")
        for text in ["90s", "1h30m", "P2W", "400d"] {
            let milliseconds = DurationText.milliseconds(text)!
            #expect(DurationText.milliseconds(DurationText.iso8601(milliseconds: milliseconds)!) == milliseconds)
        }
    }
}
