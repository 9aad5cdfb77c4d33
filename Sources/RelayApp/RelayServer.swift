// `audience-relay serve`: sets up signals, logging and metrics, runs the RelayRuntime, and turns how it
// ended into an exit status.
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import RelayCore
import RelayHTTP
import RelayOutbox
import ServiceLifecycle
import UnixSignals

package enum RelayServer {
    /// The ingest application over a given routing table and store (tests build it directly, with
    /// their own `clock` for the time events are received).
    package static func makeApplication(
        listen: ListenAddress, routing: ActiveRouting, store: any EventStore,
        operations: OperationsEndpoints = OperationsEndpoints(), services: [any Service] = [], logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        makeApplication(listen: listen, responder: RelayResponder(routing: routing, store: store, operations: operations, clock: clock),
                        name: "ingest", services: services, logger: logger, onRunning: onRunning)
    }

    static func makeApplication<Responder: HTTPResponder>(
        listen: ListenAddress, responder: Responder, name: String, services: [any Service] = [], logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol where Responder.Context == BasicRequestContext {
        Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "audience-relay", backlog: 1024),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                logger.info("listening", metadata: ["address": "\(ListenAddress(host: listen.host, port: port))", "listener": "\(name)"])
                await onRunning(port)
            },
            logger: logger)
    }

    /// Exit statuses of `serve` (README "Exit codes").
    package enum ExitStatus {
        package static let stopped: Int32 = 0
        /// A start-up failure or a service that failed while running; the log's last line says which.
        package static let failed: Int32 = 1
    }

    /// Runs until SIGTERM/SIGINT, then drains and closes the outbox. Returns the process's exit status;
    /// a failure is logged once, naming what failed.
    package static func serve(_ options: ServeOptions) async -> Int32 {
        ProcessSignals.prepare()
        let logger = makeLogger(label: "audience-relay", level: options.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let escalation = ProcessSignals.escalate(grace: options.shutdownGracePeriod, logger: logger)
        defer { for source in escalation { source.cancel() } }
        do {
            if options.outboxURL != nil {
                throw RelayStartupError(message: "--outbox postgres://… (PostgreSQL outbox) is not available in this build; omit it to use the SQLite outbox in --data-dir")
            }
            if options.commitMode == .none {
                try await serveUnstored(options, registry: registry, logger: logger)
            } else {
                let runtime = try await RelayRuntime(options: options, metrics: { registry.emitToString() }, logger: logger)
                try await runtime.run()
            }
            logger.info("stopped")
            return ExitStatus.stopped
        } catch {
            logger.critical("\(describe(error))")
            return ExitStatus.failed
        }
    }

    /// The benchmark baseline: the listener with no store at all.
    private static func serveUnstored(_ options: ServeOptions, registry: PrometheusCollectorRegistry, logger: Logger) async throws {
        logger.warning("commit mode 'none': events are NOT stored and nothing is delivered (benchmark baseline only)")
        let snapshot = try RoutingTableFile.loadSnapshot(path: options.configPath)
        let app = makeApplication(listen: options.listen, routing: ActiveRouting(snapshot), store: UnstoredEventStore(),
                                  operations: OperationsEndpoints(metrics: { registry.emitToString() }), logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    /// One line an operator can act on.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let errors as ConfigErrors: return "the routing table is invalid:\n\(errors)"
        case let problems as SecretProblems: return "the routing table's secrets cannot be read:\n\(problems)"
        default: return "\(error)"
        }
    }

    package static func makeLogger(label: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

package struct RelayStartupError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
