@testable import MusterBench
import Testing

/// The small calculations every scenario relies on: sharing messages among publishers, the
/// median of timings, the due time stamped into latency bodies.
@Suite("bench arithmetic")
struct BenchArithmeticTests {
    // MARK: Sharing messages among publishers

    @Test func splitSharesSumToTheTotalAndDifferByAtMostOne() {
        for total in 0...120 {
            for parts in 1...9 {
                let shares = split(total, into: parts)
                #expect(shares.count == parts, "split(\(total), into: \(parts)) = \(shares)")
                #expect(shares.reduce(0, +) == total, "split(\(total), into: \(parts)) = \(shares)")
                #expect(shares.max()! - shares.min()! <= 1, "split(\(total), into: \(parts)) = \(shares)")
                #expect(shares.allSatisfy { $0 >= 0 }, "split(\(total), into: \(parts)) = \(shares)")
            }
        }
    }

    @Test func splitGivesTheRemainderToTheFirstShares() {
        #expect(split(10, into: 3) == [4, 3, 3])
        #expect(split(500, into: 3) == [167, 167, 166])
        #expect(split(1000, into: 2) == [500, 500])
    }

    @Test func splitOfFewerMessagesThanPublishersLeavesSomeIdle() {
        #expect(split(2, into: 5) == [1, 1, 0, 0, 0])
        #expect(split(0, into: 3) == [0, 0, 0])
    }

    @Test func splitIntoOnePartIsTheWhole() {
        #expect(split(200_000, into: 1) == [200_000])
    }

    // MARK: Median

    @Test func medianOfAnOddCountIsTheMiddleValue() {
        #expect(median([5, 1, 3]) == 3)
        #expect(median([42]) == 42)
    }

    @Test func medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        #expect(median([4, 1, 3, 2]) == 2.5)
        #expect(median([10, 20]) == 15)
    }

    @Test func medianDoesNotDependOnOrderAndIgnoresOutliers() {
        #expect(median([1000, 2, 1, 3, 2]) == 2)
        #expect(median([2, 2, 1, 3, 1000]) == 2)
    }

    @Test func medianOfNothingIsZero() {
        #expect(median([]) == 0)
    }

    // MARK: The due time in latency bodies

    @Test(arguments: [0, 1, 9, 10, 123_456_789, 1_700_000_000_123_456_789, UInt64.max])
    func stampedDueTimeReadsBack(nanoseconds: UInt64) {
        var body = filler(count: 64)
        LatencyScenario.stamp(nanoseconds, into: &body)
        #expect(LatencyScenario.dueTime(in: body) == nanoseconds)
    }

    @Test func stampWritesTwentyCharactersPaddedWithSpacesAndLeavesTheRestOfTheBody() {
        let original = filler(count: 32)
        var body = original
        LatencyScenario.stamp(42, into: &body)
        #expect(String(decoding: body.prefix(20), as: UTF8.self) == "                  42")
        LatencyScenario.stamp(0, into: &body)
        #expect(String(decoding: body.prefix(20), as: UTF8.self) == "                   0")
        #expect(LatencyScenario.dueTime(in: Array("                    ".utf8)) == nil, "a stamp of spaces only")
        #expect(body.dropFirst(20) == original.dropFirst(20))
        #expect(body.count == 32)
    }

    @Test func aBodyOfExactlyTheStampReadsBack() {
        var body = [UInt8](repeating: 0, count: LatencyScenario.stampLength)
        LatencyScenario.stamp(987_654_321, into: &body)
        #expect(LatencyScenario.dueTime(in: body) == 987_654_321)
    }

    @Test func aBodyWithoutTheStampIsRejected() {
        #expect(LatencyScenario.dueTime(in: filler(count: 1024)) == nil)
        #expect(LatencyScenario.dueTime(in: Array("{\"task\": \"river patrol\", \"due\": 1}".utf8)) == nil)
        #expect(LatencyScenario.dueTime(in: []) == nil)
    }

    @Test func aBodyShorterThanTheStampIsRejected() {
        #expect(LatencyScenario.dueTime(in: Array("1234567890123456789".utf8)) == nil)
    }

    @Test func aStampWithANonDigitIsRejected() {
        var body = filler(count: 40)
        LatencyScenario.stamp(1_700_000_000_000_000_000, into: &body)
        for (position, character) in [(0, "x"), (7, " "), (19, " ")] {
            var damaged = body
            damaged[position] = UInt8(ascii: Unicode.Scalar(character)!)
            #expect(LatencyScenario.dueTime(in: damaged) == nil, "'\(character)' at \(position)")
        }
    }

    /// Twenty digits above UInt64.max (another publisher's body on the same destination, say)
    /// are not a due time this benchmark wrote: rejected, not an arithmetic overflow that kills
    /// the run.
    @Test func twentyDigitsBeyondTheLargestDueTimeAreRejectedWithoutTrapping() async {
        await #expect(processExitsWith: .success) {
            let body = [UInt8](repeating: UInt8(ascii: "9"), count: 20) + Array(" alarm".utf8)
            precondition(LatencyScenario.dueTime(in: body) == nil)
        }
    }

    @Test func fillerIsPrintableLettersOfTheAskedSize() {
        let body = filler(count: 100)
        #expect(body.count == 100)
        #expect(body.allSatisfy { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") })
        #expect(filler(count: 0).isEmpty)
    }
}
