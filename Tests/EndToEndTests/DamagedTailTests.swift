import Foundation
import MusterTestSupport
import Synchronization
import Testing

/// One flipped byte in the last, receipted record of a real broker's log: `muster serve`
/// refuses to start naming its offset (it used to cut the record off as a torn write, losing a
/// receipted message and the evidence), `muster log verify` fails naming it, and only an
/// explicit `muster log repair` (which keeps the cut bytes and records itself) lets it start;
/// neither a repair nor a second broker may touch the log while a broker has it open.
@Suite("a damaged final record stops the broker until it is repaired")
struct DamagedTailTests {
    /// `killed`: the broker is SIGKILLed, so preallocated zeros follow the last record;
    /// otherwise it stops cleanly and the segment file ends with the record.
    @Test(arguments: [false, true])
    func flippedByteInTheLastReceiptedRecordRefusesToServeUntilRepaired(killed: Bool) async throws {
        let directory = try TemporaryDirectory(prefix: "muster-damaged-tail")
        defer { directory.remove() }
        let broker = try await runBlocking { try BrokerProcess.start(in: directory) }
        do {
            let town = try await broker.connect("langxia-town")
            for number in 1...5 {
                try await town.publish(to: "/topic/notices", text: "notice \(number)", receipt: true)
            }
            try await town.disconnect()
        } catch {
            broker.stop(removingDirectory: false)
            throw error
        }
        if killed {
            broker.kill()
        } else {
            #expect(broker.stop(removingDirectory: false) == 0, "\(broker.log)")
        }
        let data = broker.dataDirectory

        // The last record is the fifth, receipted notice; flip one byte of its body.
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(data)/log")
            .filter { $0.wholeMatch(of: /[0-9]{20}\.log/) != nil }.sorted().last)
        let path = "\(data)/log/\(segment)"
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let final = try #require(Self.records(in: original).last)
        let body = Array("notice 5".utf8)
        #expect(Array(original[(final.end - body.count)..<final.end]) == body, "the last record is not the last receipted notice")
        #expect(killed == (original.count > final.end), "preallocated space follows the last record only after a kill")
        var damaged = original
        damaged[final.end - 3] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: path))
        let named = "offset \(final.offset) (byte \(final.position))"

        // The broker refuses to start, naming the segment, the offset and the repair.
        let serve = try await runBlocking { try Self.serve(configFile: broker.configFile) }
        #expect(serve.status != nil && serve.status != 0, "muster serve started on a damaged log:\n\(serve.output)")
        for fragment in [segment, named, "CRC mismatch", "muster log repair --data \(data) --truncate-from \(final.offset)"] {
            #expect(serve.output.contains(fragment), "muster serve's refusal does not name \(fragment):\n\(serve.output)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damaged, "the refused start changed the segment")

        // The offline verifier fails, naming the same record.
        let verify = try await runMuster(["log", "verify", "--data", data])
        #expect(verify.status == 1, "muster log verify accepted the damaged log:\n\(verify.output)")
        #expect(verify.output.contains(named), "\(verify.output)")

        // A repair anywhere but at the damaged record is refused and changes nothing.
        let wrong = try await runMuster(["log", "repair", "--data", data, "--truncate-from", "\(final.offset - 1)"])
        #expect(wrong.status != 0, "\(wrong.output)")
        #expect(wrong.output.contains("the first damaged record is offset \(final.offset)"), "\(wrong.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == damaged)
        #expect(!FileManager.default.fileExists(atPath: "\(data)/repairs"))

        // The repair cuts the record, keeping its bytes, and records itself.
        let repair = try await runMuster(["log", "repair", "--data", data, "--truncate-from", "\(final.offset)", "--note", "end-to-end test"])
        #expect(repair.status == 0, "muster log repair failed:\n\(repair.output)")
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: "\(data)/log").filter { $0.hasPrefix(segment + ".quarantine-\(final.offset)-") }
        #expect(quarantined.count == 1, "\(quarantined)")
        if let file = quarantined.first {
            #expect(try Data(contentsOf: URL(fileURLWithPath: "\(data)/log/\(file)")) == damaged[final.position...])
            #expect(repair.output.contains(file), "\(repair.output)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original[..<final.position])
        let record = try String(contentsOfFile: "\(data)/repairs", encoding: .utf8)
        for fragment in ["cut the log from offset \(final.offset)", "damaged: CRC mismatch", "note: end-to-end test"] {
            #expect(record.contains(fragment), "\(record)")
        }
        let verified = try await runMuster(["log", "verify", "--data", data])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("verified \(final.offset) records"), "\(verified.output)")

        // Now the broker starts, and the next message takes the freed offset.
        let restarted = try broker.restart()
        do {
            #expect(!restarted.log.contains("recovered the log"), "\(restarted.log)")
            let busy = try await runMuster(["log", "repair", "--data", data, "--truncate-from", "0", "--force"])
            #expect(busy.status != 0 && busy.output.contains("is running"), "a repair ran beside the broker:\n\(busy.output)")
            let second = try await runBlocking { try Self.serve(configFile: broker.configFile) }
            #expect(second.status != nil && second.status != 0, "a second broker served the same log:\n\(second.output)")
            #expect(second.output.contains("in use by process \(restarted.processIdentifier)"), "\(second.output)")
            let town = try await restarted.connect("langxia-town")
            try await town.publish(to: "/topic/notices", text: "notice 5 again", receipt: true)
            try await town.disconnect()
        } catch {
            restarted.stop(removingDirectory: false)
            throw error
        }
        #expect(restarted.stop(removingDirectory: false) == 0, "\(restarted.log)")
        let after = try await runMuster(["log", "verify", "--data", data])
        #expect(after.status == 0, "\(after.output)")
        #expect(after.output.contains("verified \(final.offset + 1) records"), "\(after.output)")
    }

    struct Record {
        let position: Int
        let end: Int
        let offset: UInt64
    }

    /// The records of a segment file, walking the length fields from byte 72 (Schemas/log-format.md).
    static func records(in segment: Data) -> [Record] {
        let bytes = [UInt8](segment)
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        var found: [Record] = []
        var position = 72
        while position + 64 <= bytes.count, Array(bytes[position..<position + 4]) == Array("MREC".utf8) {
            let length = u32(position + 8)
            guard length >= 72, position + length <= bytes.count else { break }
            found.append(Record(position: position, end: position + length, offset: u64(position + 16)))
            position += length
        }
        return found
    }

    /// Runs `muster serve` on a broker's settings until it exits, or until it listens (then it
    /// is stopped, and its status is nil: it started).
    static func serve(configFile: String, timeout: Duration = .seconds(60)) throws -> (status: Int32?, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: BrokerProcess.musterExecutable())
        process.arguments = ["serve", "--config", configFile]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = Mutex("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            output.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline, !output.withLock({ $0.contains(" listening on ") }) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return (nil, output.withLock { $0 })
        }
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.2)  // the last output
        return (process.terminationStatus, output.withLock { $0 })
    }
}
