import Foundation

/// The Python scripts the tests run: the stomp.py interoperability scripts (clients we did not
/// write) and the fast replay reader, in Tests/EndToEndTests/Interop.
public enum PythonScript {
    /// The interpreter: MUSTER_PYTHON (Tests/run sets it when only Debian's python3-stomp has
    /// stomp.py), else `python3` from PATH.
    public static var python: String { ProcessInfo.processInfo.environment["MUSTER_PYTHON"] ?? "python3" }

    /// Tests/EndToEndTests/Interop in this checkout.
    public static let interopDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/EndToEndTests/Interop").path

    public static func path(_ name: String) -> String { (interopDirectory as NSString).appendingPathComponent(name) }

    /// Runs the script `name` of the Interop directory to its end.
    public static func run(_ name: String, _ arguments: [String], timeout: Duration = .seconds(300)) async throws -> ProgramRun {
        try await runProcess(python, ["-u", path(name)] + arguments, timeout: timeout)
    }

    /// Starts the script `name`, for a test that answers it or watches its output while it runs.
    public static func start(_ name: String, _ arguments: [String]) throws -> RunningProgram {
        try RunningProgram(python, ["-u", path(name)] + arguments)
    }

    /// The lines of `output` that are JSON objects, in order (the scripts report one per step).
    public static func jsonLines(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}
