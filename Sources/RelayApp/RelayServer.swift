// Builds and runs the relay: listener, outbox and (as they land) dispatcher and sinks, in one ServiceGroup.
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import RelayCore
import RelayDelivery
import RelayExport
import RelayHTTP
import RelayOutbox
import ServiceLifecycle

public enum RelayServer {
    /// The HTTP application over a given routing table and store (tests build it directly).
    public static func makeApplication(
        listen: ListenAddress, routing: ActiveRouting, store: any EventStore,
        operations: OperationsEndpoints = OperationsEndpoints(), services: [any Service] = [], logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let responder = RelayResponder(routing: routing, store: store, operations: operations)
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: "audience-relay", backlog: 1024),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                logger.info("listening", metadata: ["address": "\(ListenAddress(host: listen.host, port: port))"])
                await onRunning(port)
            },
            logger: logger)
    }

    /// `audience-relay serve`: runs until SIGTERM/SIGINT, then drains and closes the outbox.
    public static func serve(_ options: ServeOptions) async throws {
        ShutdownSignals.unblock()
        let logger = makeLogger(label: "audience-relay", level: options.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        let snapshot = try RoutingTableFile.loadSnapshot(path: options.configPath)
        logger.info("routing table loaded", metadata: [
            "path": "\(options.configPath)", "sources": "\(snapshot.table.sources.count)",
            "destinations": "\(snapshot.table.destinations.count)", "routes": "\(snapshot.table.routes.count)",
        ])
        for warning in RoutingTableWarnings.warnings(snapshot.table) {
            logger.warning("routing table", metadata: ["path": "\(options.configPath)", "warning": "\(warning)"])
        }
        if options.outboxURL != nil {
            throw RelayStartupError(message: "--outbox postgres://… (PostgreSQL outbox) is not available in this build; omit it to use the SQLite outbox in --data-dir")
        }
        if options.commitMode == .none {
            logger.warning("commit mode 'none': events are NOT stored and nothing is delivered (benchmark baseline only)")
            let app = makeApplication(listen: options.listen, routing: ActiveRouting(snapshot), store: UnstoredEventStore(),
                                      operations: OperationsEndpoints(metrics: { registry.emitToString() }), logger: logger)
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            return
        }
        let outbox = try SQLiteOutbox(dataDirectory: options.dataDirectory,
                                      commitMode: options.commitMode == .grouped ? .grouped : .perRequest, logger: logger)
        let sinks = SinkFactory(destinations: snapshot.table.destinations, logger: logger)
        let sinkMap = try sinks.makeSinks(for: snapshot.table.destinations, secrets: SecretResolver())
        let dispatcher = Dispatcher(destinations: snapshot.table.destinations, sinks: sinkMap, queue: outbox, logger: logger)
        let routing = ActiveRouting(snapshot)
        let exports = ExportRunner(
            queue: outbox, sinks: sinkMap, routing: { routing.snapshot.table }, client: sinks.http,
            readSecret: { reference in String(decoding: try SecretResolver().read(reference), as: UTF8.self) },
            maxConcurrentJobs: options.exportJobs, logger: logger)
        let maintenance = OutboxMaintenance(queue: outbox, destinations: snapshot.table.destinations.map(\.name),
                                            retention: options.deliveredRetention, interval: .seconds(5), logger: logger)
        let operations = OperationsEndpoints(
            readiness: { await Readiness.check(outbox: outbox, sinks: sinks) },
            metrics: { registry.emitToString() })
        let app = makeApplication(listen: options.listen, routing: routing,
                                  store: NotifyingEventStore(base: outbox, dispatcher: dispatcher, exports: exports),
                                  operations: operations, logger: logger)
        // Graceful shutdown runs in reverse order: the listener stops accepting and finishes its
        // requests, export jobs stop at their last checkpoint, then the dispatcher finishes the
        // batches in flight, then upkeep stops. Whatever is still unconfirmed after the deadline
        // stays pending in the outbox for the next start.
        var configuration = ServiceGroupConfiguration(services: [maintenance, dispatcher, exports, app],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = options.shutdownGracePeriod
        try await ServiceGroup(configuration: configuration).run()
        await sinks.shutdown()
        outbox.close()
        logger.info("stopped")
    }

    public static func makeLogger(label: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

public struct RelayStartupError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
