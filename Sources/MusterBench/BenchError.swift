/// Why a benchmark run could not finish; said so that the user can fix the setup.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
