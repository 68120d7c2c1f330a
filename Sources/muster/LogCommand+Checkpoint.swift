import ArgumentParser
import Foundation
import MusterFederation
import MusterServer

extension LogCommand {
    /// `muster log checkpoint`: the log's state, signed with the broker's key, for an auditor to keep.
    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the log's head, signed with the broker's key (JSON), for an auditor to keep.",
            discussion: """
                Verifies every record first, then signs the log id, the head (offset and chain hash) and the time \
                with the broker's private key (tls.private-key in muster.yaml). Keep the output: later, \
                `muster log verify --checkpoint FILE --ca CA-FILE` proves, with only the jurisdiction's CA, whether the \
                log still passes through that head. The format is in Schemas/log-format.md. Run it on the broker's \
                host; the broker may be running. With --ask, an auditor asks the running broker instead (with the \
                client flags, as for any command): it signs its head at that moment, records the checkpoint in its \
                log and sends it to its peers.
                """)

        @Option(help: "Broker configuration file (its data directory and its certificate and key).")
        var config = "Config/muster.yaml"

        @Option(name: .customLong("data"), help: ArgumentHelp("The data directory, instead of the configuration's.", valueName: "dir"))
        var directory: String?

        @Flag(help: "Ask the running broker (as a party of kind auditor) to sign its head now, instead of signing on its host.")
        var ask = false

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            if ask {
                let checkpoint = try await WorkflowClient.with(connection) { try await $0.ask(.checkpoint, [:], as: LogCheckpoint.self) }
                return print(String(decoding: checkpoint.json, as: UTF8.self))
            }
            let configuration: ServerConfiguration
            do { configuration = try ServerConfiguration.load(file: config) } catch { throw CommandFailure("\(error)") }
            let checkpoint: LogCheckpoint
            do {
                checkpoint = try LogCheckpoint.sign(dataDirectory: directory ?? configuration.dataDirectory, certificateFile: configuration.certificatePath,
                                                    privateKeyFile: configuration.privateKeyPath)
            } catch {
                throw CommandFailure("cannot sign a checkpoint: \(error)")
            }
            print(String(decoding: checkpoint.json, as: UTF8.self))
        }
    }

    /// `muster log verify --checkpoint FILE --ca CA`: a kept checkpoint's signature, signer and log
    /// id, checked before the log is read; the verification then expects its head.
    static func signedCheckpoint(_ checkpointFile: String, authorities: [String], dataDirectory: String) throws -> (checkpoint: LogCheckpoint, signer: String) {
        guard let data = FileManager.default.contents(atPath: checkpointFile) else { throw CommandFailure("cannot read the checkpoint \(checkpointFile)") }
        let checkpoint: LogCheckpoint
        do { checkpoint = try JSONDecoder().decode(LogCheckpoint.self, from: data) } catch {
            throw CommandFailure("\(checkpointFile) is not a checkpoint as `muster log checkpoint` prints it: \(error)")
        }
        guard !authorities.isEmpty else { throw ValidationError("--checkpoint needs --ca: the CA file of the checkpoint's jurisdiction") }
        switch checkpoint.verify(authorityFiles: authorities) {
        case .success(let broker):
            do { try checkpoint.checkIdentity(of: dataDirectory) } catch { throw CommandFailure("\(error)") }
            return (checkpoint, broker.uri)
        case .failure(let error):
            throw CommandFailure("the checkpoint \(checkpointFile) does not hold: \(error)")
        }
    }
}
