/// A problem in a configuration file, said in one line: the file, the key, what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let key: String
    public let problem: String

    public init(file: String, key: String, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        key.isEmpty ? "\(file): \(problem)" : "\(file): \(key): \(problem)"
    }
}
