// `audience-relay demo` (SPEC §10): the whole flow with no external services and free ports of its own —
// the relay on its embedded Kafka, a local export host, one Sitecore notification posted over HTTP, and
// the notification and the export's records read back from their topics.
import Foundation
import Logging
import RelayDelivery
import ServiceLifecycle
import UnixSignals

/// Settings of `audience-relay demo`.
package struct DemoOptions: Sendable {
    /// Records in the generated export.
    package var records: Int
    /// How long the notification, the records and the framing events have to arrive.
    package var timeout: Duration
    /// Keep the temporary directory (routing table and outbox) instead of removing it.
    package var keepData: Bool

    package init(records: Int = 10_000, timeout: Duration = .seconds(60), keepData: Bool = false) {
        self.records = records
        self.timeout = timeout
        self.keepData = keepData
    }
}

package enum DemoCommand {
    /// Runs the demo and returns the exit status: 0 when the notification, every record and the
    /// export's framing events arrived in time; 1 otherwise, after a line saying what is missing.
    /// Progress and the summary go to stdout; the relay's own logs (warning and above) to stderr.
    package static func run(_ options: DemoOptions) async -> Int32 {
        ProcessSignals.prepare()
        let logger = RelayServer.makeLogger(label: "audience-relay", level: .warning)
        let shutdownGrace = Duration.seconds(10)
        let escalation = ProcessSignals.escalate(grace: shutdownGrace, logger: logger)
        defer { for source in escalation { source.cancel() } }

        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("audience-relay-demo-\(UUID().uuidString.prefix(8).lowercased())").path
        let summary: DemoSummary
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            summary = try await runFlow(options, directory: directory, shutdownGrace: shutdownGrace, logger: logger)
        } catch {
            summary = DemoSummary(failure: "\(RelayServer.describe(error))")
        }
        if options.keepData {
            say("demo: data kept in \(directory) (routes.yaml, data/)")
        } else {
            try? FileManager.default.removeItem(atPath: directory)
        }
        say(summary.line(expectedRecords: options.records))
        return summary.succeeded(expectedRecords: options.records) ? 0 : 1
    }

    /// Starts the relay and the upstream, lets the driver post and watch, and returns once all three have
    /// shut down gracefully (the driver's end starts that).
    private static func runFlow(_ options: DemoOptions, directory: String, shutdownGrace: Duration,
                                logger: Logger) async throws -> DemoSummary {
        let routesPath = directory + "/routes.yaml"
        try Data(DemoRoutes.table.utf8).write(to: URL(fileURLWithPath: routesPath))
        var serve = ServeOptions(configPath: routesPath, dataDirectory: directory + "/data",
                                 listen: ListenAddress(host: "127.0.0.1", port: 0), logLevel: logger.logLevel)
        serve.shutdownGracePeriod = shutdownGrace

        let (relayPorts, relayPort) = AsyncStream.makeStream(of: Int.self)
        let runtime: RelayRuntime
        do {
            runtime = try await RelayRuntime(options: serve, logger: logger, onListening: { port in relayPort.yield(port) })
        } catch {
            throw RelayStartupError(message: "the relay did not start: \(RelayServer.describe(error))")
        }
        let bootstrap = try runtime.clients.kafka.bootstrapServers(for: "embedded")
        say("demo: embedded Kafka at \(bootstrap)")
        say("demo: read it with  kcat -b \(bootstrap) -C -t \(DemoRoutes.recordsTopic)  (while the demo runs)")

        let upstream = DemoUpstream(records: options.records)
        let (upstreamPorts, upstreamPort) = AsyncStream.makeStream(of: Int.self)
        let driver = DemoDriver(options: options, bootstrap: bootstrap, upstream: upstream,
                                relayPorts: relayPorts, upstreamPorts: upstreamPorts, logger: logger)
        let services: [any Service] = [
            upstream.makeApplication(logger: logger, onListening: { port in upstreamPort.yield(port) }),
            RelayRuntimeService(runtime: runtime),
            driver,
        ]
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        try await ServiceGroup(configuration: configuration).run()
        return driver.summary
    }

    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// The relay as one service of the demo's group: its own group runs nested, so the demo's graceful
/// shutdown (the driver ending, or Ctrl-C) shuts the relay down gracefully too.
private struct RelayRuntimeService: Service {
    let runtime: RelayRuntime

    func run() async throws {
        try await runtime.run(gracefulShutdownSignals: [])
    }
}
