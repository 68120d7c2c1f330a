import Testing
@testable import MusterBroker
import MusterStomp
@testable import MusterProtocol
@testable import MusterWorkflow

@Suite("Workflow: times and durations")
struct WorkflowTimeTests {
    @Test(arguments: [
        ("PT30M", 30 * minute), ("PT1H30M", 90 * minute), ("P1DT2H", 26 * hour), ("P2W", 14 * 24 * hour), ("PT45S", 45 * second),
        ("P1D", 24 * hour), ("PT0S", 0), ("P1DT2H3M4S", 26 * hour + 3 * minute + 4 * second), ("PT90M", 90 * minute),
    ])
    func aCalendarFreeDurationIsMilliseconds(text: String, milliseconds: Int64) {
        #expect(WorkflowTime.milliseconds(duration: text) == milliseconds)
    }

    /// Years and months depend on the calendar; the rest is not a duration the schemas admit.
    @Test(arguments: ["P1Y", "P1M", "P1Y2M", "PT", "P", "", "30M", "PT1.5H", "P1H", "PT1D", "P-1D", "PTT1H", "pt30m", "P1DT", " PT30M"])
    func anythingElseIsNotADuration(text: String) {
        #expect(WorkflowTime.milliseconds(duration: text) == nil)
    }

    @Test func aDurationTooLongForMillisecondsIsRefusedNotWrapped() {
        #expect(WorkflowTime.milliseconds(duration: "P99999999999999999W") == nil)
        #expect(WorkflowTime.milliseconds(duration: "P15250284452W") != nil)
        #expect(WorkflowTime.milliseconds(duration: "P15250284453W") == nil)
    }

    /// 106751991167 days is just under Int64.max milliseconds; 23 more hours overflow the sum.
    /// The digits are unbounded in the schemas' duration pattern, so a client can send this.
    @Test func aDurationWhoseComponentsOverflowTogetherIsRefusedWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            _ = WorkflowTime.milliseconds(duration: "P106751991167DT23H")
        }
    }

    /// A schema-valid deadline whose duration fits but whose sum with the acceptance time does not.
    @Test func aDeadlineBeyondTheEndOfTimeIsRefusedWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            let publication = Publication(destination: Destination(kind: .topic, name: "summons"), headers: ["muster-type": "summons"],
                                          body: Array(#"{"action": "open", "summoned": [], "deadline": "P106751991000D"}"#.utf8),
                                          sender: PartyIdentity(jurisdiction: "jinshan", party: "langxia-town"))
            _ = WorkflowBook().stamp(publication, time: 1_749_692_400_000, directory: WorkflowDirectory(parties: [:]))
        }
    }

    /// The same for a report-in's eta, which the book reads when it handles the report-in.
    @Test func aReportInWhoseEtaIsBeyondTheEndOfTimeIsHandledWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            var world = WorkflowWorld()
            _ = world.send(.summons, Body.openSummons(["guangchen-town"]), from: langxiaTown, at: t0)
            _ = world.send(.reportIn, Body.reportIn("s-1", eta: "P106751991000D"), from: guangchenTown, at: t0 + minute)
        }
    }

    @Test(arguments: [
        ("2025-06-12T09:40:00+08:00", t0), ("2025-06-12T01:40:00Z", t0), ("2025-06-12T01:40:00.250Z", t0 + 250),
        ("2025-06-12T09:40:00.5+08:00", t0 + 500), ("2025-06-11T20:40:00-05:00", t0), ("2025-06-12T01:40:00.000Z", t0),
    ])
    func anRFC3339DateTimeWithAnOffsetIsMilliseconds(text: String, milliseconds: Int64) {
        #expect(WorkflowTime.milliseconds(rfc3339: text) == milliseconds)
    }

    /// The schemas' timestamp pattern admits a lower-case t and z.
    @Test(arguments: ["2025-06-12t01:40:00Z", "2025-06-12T01:40:00z"])
    func aLowerCaseSeparatorOrZuluIsAnRFC3339DateTime(text: String) {
        #expect(WorkflowTime.milliseconds(rfc3339: text) == t0)
    }

    @Test func aSummonsDeadlineWithALowerCaseSeparatorIsTaken() throws {
        var world = WorkflowWorld()
        let id = try world.blowWhistle(["guangchen-town"], deadline: "2025-06-12t10:10:00+08:00")
        #expect(try world.summons(id).deadline == t0 + 30 * minute)
    }

    @Test(arguments: ["2025-06-12T09:40:00", "2025-06-12", "PT30M", "yesterday", "2025-06-12 09:40:00+08:00"])
    func aDateTimeWithoutAnOffsetIsRefused(text: String) {
        #expect(WorkflowTime.milliseconds(rfc3339: text) == nil)
    }

    @Test func millisecondsPrintAsUTCWithMillisecondsAndReadBackTheSame() {
        #expect(WorkflowTime.rfc3339(t0) == "2025-06-12T01:40:00.000Z")
        #expect(WorkflowTime.rfc3339(t0 + 250) == "2025-06-12T01:40:00.250Z")
        for offset: Int64 in [1, 7, 123, 999, 1001, 59_999, 86_399_999, 123_456_789] {
            let time = t0 + offset
            #expect(WorkflowTime.milliseconds(rfc3339: WorkflowTime.rfc3339(time)) == time, "t0 + \(offset) ms")
        }
    }

    @Test func aPointInTimeIsADateTimeOrADurationFromTheOrigin() {
        #expect(WorkflowTime.milliseconds(pointInTime: "PT30M", from: t0) == t0 + 30 * minute)
        #expect(WorkflowTime.milliseconds(pointInTime: "2025-06-12T10:10:00+08:00", from: 0) == t0 + 30 * minute)
        #expect(WorkflowTime.milliseconds(pointInTime: "P1Y", from: t0) == nil)
    }

    @Test(arguments: [
        (45 * second, "45s"), (12 * minute + 30 * second, "12m 30s"), (5 * minute, "5m"), (2 * hour + 5 * minute, "2h 5m"),
        (2 * hour, "2h"), (3 * 24 * hour + 4 * hour, "3d 4h"), (-90 * second, "-1m 30s"),
    ])
    func durationsReadForPeople(milliseconds: Int64, text: String) {
        #expect(WorkflowTime.humanDuration(milliseconds) == text)
    }
}
