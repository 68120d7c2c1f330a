import MusterStomp
import Testing

@Suite("Headers")
struct StompHeadersTests {
    @Test func lookupReturnsTheFirstOfRepeatedHeaders() {
        let headers = StompHeaders([("foo", "first"), ("bar", "x"), ("foo", "second")])

        #expect(headers["foo"] == "first")
        #expect(headers["missing"] == nil)
    }

    @Test func settingReplacesTheFirstInPlaceAndRemovesRepeats() {
        var headers = StompHeaders([("foo", "1"), ("bar", "x"), ("foo", "2"), ("baz", "y"), ("foo", "3")])

        headers["foo"] = "new"

        #expect(headers == StompHeaders([("foo", "new"), ("bar", "x"), ("baz", "y")]))
    }

    @Test func settingAnAbsentNameAppendsIt() {
        var headers: StompHeaders = ["a": "1"]

        headers["b"] = "2"

        #expect(headers == StompHeaders([("a", "1"), ("b", "2")]))
    }

    @Test func settingNilRemovesEveryRepeat() {
        var headers = StompHeaders([("foo", "1"), ("bar", "x"), ("foo", "2")])

        headers["foo"] = nil

        #expect(headers == StompHeaders([("bar", "x")]))
        #expect(!headers.contains("foo"))
    }

    @Test func appendKeepsEarlierValuesFirst() {
        var headers: StompHeaders = ["foo": "first"]

        headers.append("foo", "second")

        #expect(headers["foo"] == "first")
        #expect(headers.count == 2)
    }

    @Test func namesAreCaseSensitive() {
        let headers: StompHeaders = ["Destination": "/a"]

        #expect(headers["destination"] == nil)
        #expect(!headers.contains("destination"))
        #expect(headers.contains("Destination"))
    }

    @Test func equalityDependsOnOrder() {
        let forward: StompHeaders = ["a": "1", "b": "2"]
        let backward: StompHeaders = ["b": "2", "a": "1"]

        #expect(forward != backward)
        #expect(forward == StompHeaders([("a", "1"), ("b", "2")]))
    }

    @Test func equalityComparesValues() {
        #expect(StompHeaders([("a", "1")]) != StompHeaders([("a", "2")]))
        #expect(StompHeaders([("a", "1")]) != StompHeaders([("a", "1"), ("a", "1")]))
    }

    @Test func iterationYieldsNamedPairsInOrder() {
        let headers: StompHeaders = ["x": "1", "y": "2", "x": "3"]

        let pairs = headers.map { "\($0.name)=\($0.value)" }

        #expect(pairs == ["x=1", "y=2", "x=3"])
    }
}
