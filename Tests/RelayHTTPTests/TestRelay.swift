// Starts the real listener on a loopback port over a real SQLite outbox in a temp dir, for one test.
import Foundation
import RelayTestSupport
import Hummingbird
import Logging
import RelayCore
import RelayHTTP
import RelayOutbox
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
        let responder = RelayResponder(routing: ActiveRouting(RoutingSnapshot(table: table, auth: resolved, loadedFrom: "test.yaml")),
                                       store: outbox, clock: now)
        let portBox = Mutex<Int?>(nil)
        let app = Application(responder: responder,
                              configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in portBox.withLock { $0 = channel.localAddress?.port } },
                              logger: logger)
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
    func storedEvents() throws -> [(id: String, source: String, body: String)] {
        try OutboxInspector(path: outbox.path).events()
    }
}

/// Reads the outbox file with the sqlite3 C API independently of the store under test.
struct OutboxInspector {
    let path: String
    func events() throws -> [(id: String, source: String, body: String)] {
        let output = try sqlite("SELECT id, source, hex(body) FROM events ORDER BY rowid")
        return output.split(separator: "\n").map { line in
            let parts = line.split(separator: "|", maxSplits: 2).map(String.init)
            let hex = Array((parts.count > 2 ? parts[2] : "").utf8)
            let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16) }
            return (parts[0], parts[1], String(decoding: bytes, as: UTF8.self))
        }
    }
    func count(_ sql: String) throws -> Int { Int(try sqlite(sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }

    func sqlite(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nfor r in c.execute(sys.argv[2]): print(*r, sep='|')", path, sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
