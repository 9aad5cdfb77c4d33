// Everything `serve` runs, built in one place and run as one ServiceGroup: the clients, the outbox's
// upkeep, the dispatcher, the export runner, the routing service, the admin API and the listener.
import Foundation
import Hummingbird
import Logging
import RelayCore
import RelayDelivery
import RelayExport
import RelayHTTP
import RelayOutbox
import ServiceLifecycle
import UnixSignals

final class RelayRuntime: Sendable {
    let options: ServeOptions
    let outbox: SQLiteOutbox
    let clients: RelayClients
    private let services: [any Service]
    private let logger: Logger

    /// Opens the outbox, reads the routing table, starts the clients and builds every service; throws
    /// (having released what it started) when any of that fails.
    init(options: ServeOptions, metrics: @escaping @Sendable () -> String = { "" }, logger: Logger,
         onListening: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) async throws {
        let snapshot = try RoutingTableFile.loadSnapshot(path: options.configPath)
        logger.info("routing table loaded", metadata: [
            "path": "\(options.configPath)", "sources": "\(snapshot.table.sources.count)",
            "destinations": "\(snapshot.table.destinations.count)", "routes": "\(snapshot.table.routes.count)",
        ])
        for warning in RoutingTableWarnings.warnings(snapshot.table) {
            logger.warning("routing table", metadata: ["path": "\(options.configPath)", "warning": "\(warning)"])
        }
        let outbox = try SQLiteOutbox(dataDirectory: options.dataDirectory,
                                      commitMode: options.commitMode == .perRequest ? .perRequest : .grouped, logger: logger)
        let clients = RelayClients(destinations: snapshot.table.destinations, logger: logger)
        let factory = SinkFactory(clients: clients, secrets: SecretResolver(), logger: logger)
        let sinks: [String: any Sink]
        do {
            sinks = try await factory.makeSinks(for: snapshot.table.destinations)
        } catch {
            await clients.shutdown()
            outbox.close()
            throw RelayStartupError(message: "cannot set up the destinations of \(options.configPath): \(error)")
        }
        let dispatcher = Dispatcher(destinations: snapshot.table.destinations, sinks: sinks, queue: outbox, logger: logger)
        dispatcher.follow(outbox.commits)
        let exports = ExportRunner(
            queue: outbox, table: snapshot.table, sinks: sinks, client: clients.http,
            readSecret: { reference in String(decoding: try SecretResolver().read(reference), as: UTF8.self) },
            maxConcurrentJobs: options.exportJobs, logger: logger)
        exports.follow(outbox.commits)
        let listenerRouting = ActiveRouting(snapshot)
        let routing = RoutingService(path: options.configPath, snapshot: snapshot, sinks: sinks, listener: listenerRouting,
                                     dispatcher: dispatcher, exports: exports, factory: factory,
                                     watchInterval: options.configWatchInterval, logger: logger)
        let maintenance = OutboxMaintenance(queue: outbox, destinations: { dispatcher.destinations },
                                            retention: options.deliveredRetention, interval: .seconds(5), logger: logger)
        let readiness = Readiness(outbox: outbox, sinks: { routing.sinks }, clients: { clients.summary })
        let operations = OperationsEndpoints(readiness: { await readiness.check() }, metrics: metrics)
        let started = ListenerStarted()
        let listener = ListenerService(
            name: "ingest", address: options.listen,
            application: RelayServer.makeApplication(listen: options.listen, routing: listenerRouting, store: outbox,
                                                     operations: operations, logger: logger,
                                                     onRunning: { port in started.markListening(); await onListening(port) }),
            started: started)
        var services: [any Service] = [clients, maintenance, dispatcher, exports, routing]
        if let token = options.adminToken {
            let adminStarted = ListenerStarted()
            let admin = AdminResponder(token: Array(token.utf8), administration: OutboxAdministration(outbox: outbox),
                                       dispatcher: dispatcher, routing: routing)
            services.append(ListenerService(
                name: "admin API", address: options.adminListen,
                application: RelayServer.makeApplication(listen: options.adminListen, responder: admin, name: "admin API", logger: logger,
                                                         onRunning: { _ in adminStarted.markListening() }),
                started: adminStarted))
        }
        services.append(listener)
        self.options = options
        self.outbox = outbox
        self.clients = clients
        self.services = services
        self.logger = logger
    }

    /// Runs until SIGTERM/SIGINT (or a service fails), then shuts down in reverse order: the listeners stop
    /// accepting and finish their requests, the routing service stops reloading, export jobs stop at their
    /// last checkpoint, the dispatcher finishes the batches in flight and records them, upkeep stops, and
    /// the clients flush and close. Whatever is unconfirmed after the grace period stays pending in the
    /// outbox for the next start. Rethrows the error of a service that failed.
    func run(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                // Any service that ends — failing or not — ends the relay, the others shutting down gracefully.
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: gracefulShutdownSignals, logger: logger)
        configuration.maximumGracefulShutdownDuration = options.shutdownGracePeriod
        defer { outbox.close() }
        try await ServiceGroup(configuration: configuration).run()
    }
}
