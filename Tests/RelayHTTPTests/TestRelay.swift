// Starts the real listener (the application `serve` runs, from RelayServer.makeApplication) on a loopback
// port over a real SQLite outbox in a temp dir, for one test.
import Foundation
import Logging
import RelayApp
import RelayCore
import RelayHTTP
import RelayOutbox
import RelayTestSupport
import ServiceLifecycle
import Synchronization

struct TestRelay {
    let port: Int
    let outbox: SQLiteOutbox
    var client: RawHTTPClient { RawHTTPClient(port: port) }

    /// Runs `body` against a listener serving `yaml` (auth secrets given directly as resolved auth).
    static func run(yaml: String, auth: [String: ResolvedAuth] = [:], now: @escaping @Sendable () -> Date = { Date() },
                    _ body: (TestRelay) async throws -> Void) async throws {
        let table = try RoutingTableLoader.load(yaml: yaml, file: "test.yaml").get()
        var resolved: [String: ResolvedAuth] = [:]
        for source in table.sources { resolved[source.name] = auth[source.name] ?? ResolvedAuth.none }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-http-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let outbox = try SQLiteOutbox(dataDirectory: directory, logger: logger)
        defer { outbox.close() }
        let portBox = Mutex<Int?>(nil)
        let app = RelayServer.makeApplication(
            listen: ListenAddress(host: "127.0.0.1", port: 0),
            routing: ActiveRouting(RoutingSnapshot(table: table, auth: resolved, loadedFrom: "test.yaml")), store: outbox,
            logger: logger, clock: now, onRunning: { port in portBox.withLock { $0 = port } })
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var port: Int?
            for _ in 0..<500 where port == nil {
                try await Task.sleep(for: .milliseconds(10))
                port = portBox.withLock { $0 }
            }
            guard let port else { throw RawHTTPClient.Failure(description: "server did not start") }
            do {
                try await body(TestRelay(port: port, outbox: outbox))
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Events stored so far (id, source, body), read straight from the SQLite file.
    func storedEvents() async throws -> [(id: String, source: String, body: String)] {
        try await OutboxFile(path: outbox.path).events()
    }
}
