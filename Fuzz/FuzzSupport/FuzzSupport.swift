import Foundation

// Shared by the fuzz targets. Each target is one executable with one `check` function over the
// input bytes. Built with `Fuzz/run` (SwiftPM's --sanitize=fuzzer,address and -D FUZZING) it
// exports `LLVMFuzzerTestOneInput` and libFuzzer drives it; in an ordinary build its `main`
// replays the files named on the command line through the same `check`, so a crash input can be
// reproduced (and debugged) without the sanitizer: `swift run FrameDecoderFuzz crash-1234`.

/// Stops the process when an invariant does not hold, so that libFuzzer reports the input.
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                      file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        fatalError("invariant violated: \(message())", file: file, line: line)
    }
}

/// Reads choices (split points, limits, modes) off the front of an input, so that the fuzzer
/// controls them as it controls the data. Past the end every read gives zero.
public struct FuzzBytes {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// A little-endian 16-bit value.
    public mutating func uint16() -> Int {
        Int(byte()) | Int(byte()) << 8
    }

    /// A value in `range` (biased, which does not matter here).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = range.upperBound - range.lowerBound + 1
        return range.lowerBound + uint16() % span
    }

    /// Everything not read yet.
    public var rest: ArraySlice<UInt8> {
        bytes[min(position, bytes.count)...]
    }
}

/// The ordinary build's `main`: runs `check` on every file named (every file in a named
/// directory), printing each name first so that a crash names its input.
public func replayFiles(_ check: ([UInt8]) -> Void) {
    let arguments = CommandLine.arguments.dropFirst().filter { !$0.hasPrefix("-") }
    guard !arguments.isEmpty else {
        let name = (CommandLine.arguments.first ?? "fuzz-target").split(separator: "/").last.map(String.init) ?? ""
        print("""
            usage: \(name) FILE_OR_DIRECTORY...
            Replays inputs (corpus files, crash files) through the fuzz target's checks without libFuzzer.
            To fuzz, build and run it with Fuzz/run (see README.md, Fuzzing).
            """)
        return
    }
    var count = 0
    for path in arguments {
        for file in files(at: path) {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("cannot read \(file)")
                exit(2)
            }
            print("replaying \(file) (\(data.count) bytes)")
            check(Array(data))
            count += 1
        }
    }
    print("\(count) inputs replayed, every invariant held")
}

private func files(at path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
    guard isDirectory.boolValue else { return [path] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
}

/// The repository's root, found from this source file (the targets read Schemas/ and Config/).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }   // FuzzSupport.swift, FuzzSupport, Fuzz
    return url.path
}()
