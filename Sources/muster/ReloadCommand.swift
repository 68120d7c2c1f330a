import ArgumentParser
import Foundation
import Glibc
import MusterServer

struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running broker re-read its parties, topics, schemas and CRLs.",
        discussion: """
        Checks the policy offline first (as `muster policy check` does), then sends SIGHUP to the \
        broker whose process id is in DATA-DIRECTORY/muster.pid, and waits for its answer. The new \
        policy applies to the next frame; connections stay up unless their party was removed or \
        revoked. A broken configuration is rejected whole, and the old policy stays in force.
        """)

    @Option(help: "Broker configuration file (the one the broker was started with).")
    var config = "Config/muster.yaml"

    @Option(help: ArgumentHelp("Data directory, if the broker was started with --data.", valueName: "dir"))
    var data: String?

    @Option(help: "Seconds to wait for the broker's answer.")
    var timeout: Double = 10

    func run() throws {
        let configuration: ServerConfiguration
        do { configuration = try ServerConfiguration.load(file: config) } catch { throw CommandFailure("\(error)") }
        let check = PolicyCheck.run(configuration.policyFiles)
        guard check.problems.isEmpty else {
            for problem in check.problems { print("problem: \(problem)") }
            throw CommandFailure("not reloading: the new policy has problems (the broker keeps the old one)")
        }
        let control = BrokerControlFiles(dataDirectory: data ?? configuration.dataDirectory)
        guard let pid = control.runningProcessID() else {
            throw CommandFailure("no running broker found: \(control.processIDFile) is missing or names no live process; is the broker running with this data directory?")
        }
        let before = control.readReloadOutcome()?.sequence ?? 0
        guard kill(pid, SIGHUP) == 0 else {
            throw CommandFailure("cannot signal the broker (process \(pid)): \(String(cString: strerror(errno))); run as the broker's user")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let outcome = control.readReloadOutcome(), outcome.sequence > before {
                print("broker \(pid): \(outcome.text)")
                if outcome.text.contains("rejected") { throw CommandFailure("the broker rejected the reload") }
                return
            }
            usleep(50_000)
        }
        throw CommandFailure("the broker (process \(pid)) did not answer within \(timeout) s; see its log")
    }
}
