import ArgumentParser

@main
struct MusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muster",
        abstract: "Muster: a STOMP 1.2 message broker over mutual TLS for agencies that govern together.",
        subcommands: [ServeCommand.self, DemoCommand.self, CertsCommand.self, PublishCommand.self, SubscribeCommand.self,
                      ReplayCommand.self, LogCommand.self, AcksCommand.self,
                      PolicyCommand.self, ReloadCommand.self, FederationCommand.self,
                      SummonCommand.self, ReportInCommand.self, SummonsCommand.self, EvaluateCommand.self,
                      HandoffCommand.self, ReportCommand.self, BenchCommand.self])
}
