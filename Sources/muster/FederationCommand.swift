import ArgumentParser
import Foundation
import MusterFederation
import MusterServer

struct FederationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation",
        abstract: "Links with peer brokers (federation.peers in muster.yaml).",
        subcommands: [Status.self, Verify.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each import link's state: connected since, last position taken, lag, counts, last error.",
            discussion: """
                Reads DATA/federation/status.json, which the running broker rewrites every second. \
                Lag is the time between the peer storing the last record and this broker importing it.
                """)

        @Option(help: "Broker configuration file (for its data directory).")
        var config = "Config/muster.yaml"

        @Option(help: ArgumentHelp("Data directory, if the broker was started with --data.", valueName: "dir"))
        var data: String?

        @Flag(help: "Print the status as JSON (a list, one object per link).")
        var json = false

        func run() throws {
            let directory: String
            if let data { directory = data } else {
                do { directory = try ServerConfiguration.load(file: config).dataDirectory } catch { throw CommandFailure("\(error)") }
            }
            let control = BrokerControlFiles(dataDirectory: directory)
            guard let bytes = FileManager.default.contents(atPath: control.federationStatusFile) else {
                throw CommandFailure("no link status in \(control.federationStatusFile): the broker has not run with a peer that has an address "
                                     + "(federation.peers[].address), or it has not started yet")
            }
            if json {
                print(String(decoding: bytes, as: UTF8.self))
                return
            }
            let links: [LinkStatus]
            do { links = try JSONDecoder().decode([LinkStatus].self, from: bytes) } catch {
                throw CommandFailure("\(control.federationStatusFile) cannot be read: \(error)")
            }
            if control.runningProcessID() == nil { print("the broker is not running; its last known state:") }
            if links.isEmpty { print("no import links (no peer in federation.peers has an address)") }
            for link in links { print(Self.describe(link)) }
        }

        static func describe(_ link: LinkStatus) -> String {
            var lines = ["\(link.peer) (\(link.lane.rawValue) lane) at \(link.address): \(link.state.rawValue)" + (link.connectedSince.map { " since \(time($0))" } ?? "")]
            lines.append("  last taken: \(link.lastLinkPosition ?? "nothing yet")" + (link.lagSeconds.map { String(format: ", lag %.3f s", $0) } ?? "")
                         + (link.backlogRecords.map { ", \($0) records behind the peer's log when it was sent" } ?? ""))
            lines.append("  imported \(link.imported), refused \(link.refused), duplicates dropped \(link.duplicatesDropped), gaps \(link.gaps), reconnects \(link.reconnects)")
            if let error = link.lastError { lines.append("  last error" + (link.lastErrorAt.map { " at \(time($0))" } ?? "") + ": \(error)") }
            if let alarm = link.alarm { lines.append("  ALARM: \(alarm)") }
            return lines.joined(separator: "\n")
        }

        static func time(_ milliseconds: Int64) -> String {
            ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
    }
}
