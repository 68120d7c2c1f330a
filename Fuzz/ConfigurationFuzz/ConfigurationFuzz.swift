import Foundation
import FuzzSupport
import MusterServer
import MusterStomp

// The configuration readers, fed any file: each input is read as muster.yaml
// (ServerConfiguration.load), and, when it mentions their keys, as the parties file
// (PartyDirectory.load) and as the topics file (PolicyLoader.load, with Config/parties.yaml beside
// it and an empty schema directory). Run from the repository root: muster.yaml names the parties
// file, Config/parties.yaml by default.
// Invariants:
//  1. No input crashes a reader (an overflowing number, a deep or odd YAML document): each
//     accepts the file or refuses it with a ConfigurationError that names a file and a problem.
//  2. Accepted settings respect the documented minimums (limits, segment size, heart-beat
//     tolerance, event loops) and name a jurisdiction of the parties file; an accepted parties
//     file lists a jurisdiction, and its parties are unique and belong to listed jurisdictions.

let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return base + "/muster-configuration-fuzz-\(getpid())"
}()

func check(_ input: [UInt8]) {
    // A file naming a device (/dev/zero, /dev/stdin) could block or never end; not a reader's concern.
    for special in ["/dev", "/proc", "/sys"] where contains(input, Array(special.utf8)) { return }
    try? FileManager.default.createDirectory(atPath: scratch + "/schemas", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let file = scratch + "/settings.yaml"
    guard FileManager.default.createFile(atPath: file, contents: Data(input)) else { fatalError("cannot write \(file)") }

    readServer(file)
    // Each reader refuses keys it does not know, so a file without theirs is only YAML to them,
    // which the first reader has covered. Skipping them doubles the rate of inputs.
    if contains(input, Array("jurisdictions".utf8)) || contains(input, Array("parties".utf8)) { readParties(file) }
    if contains(input, Array("topics".utf8)) { readPolicy(file) }
}

func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
    guard bytes.count >= part.count else { return false }
    return (0...(bytes.count - part.count)).contains { bytes[$0..<($0 + part.count)].elementsEqual(part) }
}

func refuse(_ error: ConfigurationError) {
    invariant(!error.file.isEmpty && !error.problem.isEmpty, "a refusal without a file or a problem: \(error)")
}

func readServer(_ file: String) {
    let configuration: ServerConfiguration
    do {
        configuration = try ServerConfiguration.load(file: file)
    } catch {
        return refuse(error)
    }
    let limits = configuration.limits
    invariant(limits.maxFrameBytes >= 1024 && limits.maxHeaderCount >= 4 && limits.maxHeaderLineBytes >= 64 && limits.maxBodyBytes >= 0,
              "limits below their minimums were accepted: \(limits)")
    invariant(configuration.log.segmentBytes >= 64 << 10, "a \(configuration.log.segmentBytes)-byte segment size was accepted")
    invariant(configuration.heartbeatTolerance >= 1, "heart-beat tolerance \(configuration.heartbeatTolerance) was accepted")
    invariant(configuration.eventLoopCount >= 1, "\(configuration.eventLoopCount) event loops were accepted")
    invariant(!configuration.jurisdiction.isEmpty && configuration.parties.jurisdiction(configuration.jurisdiction) != nil,
              "jurisdiction '\(configuration.jurisdiction)' is not in \(configuration.partiesFile)")
}

func readParties(_ file: String) {
    let directory: PartyDirectory
    do {
        directory = try PartyDirectory.load(file: file)
    } catch {
        return refuse(error)
    }
    invariant(!directory.jurisdictions.isEmpty, "a parties file without jurisdictions was accepted")
    var seen = Set<String>()
    for party in directory.parties {
        invariant(directory.jurisdiction(party.jurisdiction) != nil, "party \(party.id) of unlisted \(party.jurisdiction) was accepted")
        invariant(seen.insert(party.jurisdiction + "/" + party.id).inserted, "party \(party.id) twice in \(party.jurisdiction) was accepted")
    }
}

func readPolicy(_ file: String) {
    let files = PolicyFiles(partiesFile: repositoryRoot + "/Config/parties.yaml", topicsFile: file, schemasDirectory: scratch + "/schemas")
    do {
        let loaded = try PolicyLoader.load(files, now: Date(timeIntervalSince1970: 1_800_000_000))
        invariant(!loaded.parties.jurisdictions.isEmpty, "a policy without jurisdictions was loaded")
    } catch {
        refuse(error)
    }
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
@main
enum ConfigurationFuzz {
    static func main() {
        replayFiles(check)
    }
}
#endif
