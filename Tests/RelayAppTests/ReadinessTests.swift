// `/readyz` means it: it fails, naming why, when the outbox cannot take a write or a destination is down.
import Foundation
import Logging
@testable import RelayApp
@_spi(Testing) import RelayOutbox
import RelayTestSupport
import Synchronization
import Testing

@Suite(.serialized)
struct ReadinessTests {
    @Test func anOutboxThatCannotTakeAWriteMakesTheRelayNotReady() async throws {
        try await Self.withRuntime(routes: Self.oneKafkaDestination) { runtime, client in
            let ready = try await client.get("/readyz")
            #expect(ready.status == 200, "\(ready.bodyText)")
            try runtime.outbox.setReadOnly(true)
            // The last probe is cached for up to 3 s.
            let notReady = try await eventually(timeout: .seconds(6)) { try await client.get("/readyz").status == 503 }
            #expect(notReady)
            let detail = try await client.get("/readyz").json["detail"] as? String ?? ""
            #expect(detail.contains("outbox: cannot take a write"), "\(detail)")
            #expect(try await client.get("/healthz").status == 200, "liveness is not readiness")
            try runtime.outbox.setReadOnly(false)
            #expect(try await eventually(timeout: .seconds(6)) { try await client.get("/readyz").status == 200 })
        }
    }

    /// A nearly full disk: the probe's one row is updated in place and still fits, events no longer
    /// do. The failed commits alone make the relay not ready, naming why.
    @Test func eventsThatNoLongerFitMakeTheRelayNotReadyWhileTheProbeStillFits() async throws {
        try await Self.withRuntime(routes: Self.oneKafkaDestination) { runtime, client in
            #expect(try await client.get("/readyz").status == 200)  // the probe's row exists from here on
            try runtime.outbox.limitPageCount(1)  // not one page more: an update in place fits, new events do not
            let example = try String(contentsOf: RelayBinary.repositoryRoot.appendingPathComponent("routes/examples/sitecore-notification.json"), encoding: .utf8)
            let exampleRef = try #require(example.firstMatch(of: /"executionRef": *"([^"]+)"/)).1
            var status = 200
            for _ in 0..<500 where status == 200 {
                let body = example.replacingOccurrences(of: exampleRef, with: UUID().uuidString.lowercased())
                status = try await client.post("/hooks/sitecore", body: Array(body.utf8)).status
            }
            #expect(status == 503)
            try await Task.sleep(for: .seconds(3.2))  // past the cached probe, which now writes in place and works
            let answer = try await client.get("/readyz")
            let detail = answer.json["detail"] as? String ?? ""
            #expect(answer.status == 503)
            #expect(detail.contains("outbox: the last commit of events failed: outbox write failed"), "\(detail)")
        }
    }

    @Test func aDestinationThatIsDownIsNamed() async throws {
        // Nothing listens on the Kafka port, and the HTTP destination refuses connections: once librdkafka
        // reports its brokers (every 5 s) and the breaker has opened (2 failures), both are named.
        let closed = try RelayProcess.freePort()
        try await Self.withRuntime(routes: """
            version: 1
            sources:
              sitecore: {kind: sitecore-export, path: /hooks/sitecore}
            destinations:
              lost-kafka: {type: kafka, brokers: "127.0.0.1:\(closed)", topic: events}
              lost-http:
                type: http
                url: http://127.0.0.1:\(closed)/hook
                breaker: {failures: 2, coolDown: 1m}
                delivery: {initialBackoff: 10ms, maxBackoff: 20ms}
            routes:
              - {name: all, source: [sitecore], to: [lost-kafka, lost-http]}
            """) { _, client in
            let body = try Data(contentsOf: RelayBinary.repositoryRoot.appendingPathComponent("routes/examples/sitecore-notification.json"))
            #expect(try await client.post("/hooks/sitecore", body: Array(body)).status == 200)
            var detail = ""
            let named = try await eventually(timeout: .seconds(15)) {
                let answer = try await client.get("/readyz")
                detail = answer.json["detail"] as? String ?? ""
                return answer.status == 503 && detail.contains("lost-kafka") && detail.contains("lost-http")
            }
            #expect(named, "\(detail)")
            #expect(detail.contains("destination lost-kafka: Kafka cluster unreachable"), "\(detail)")
            #expect(detail.contains("destination lost-http: circuit breaker open"), "\(detail)")
        }
    }

    static let oneKafkaDestination = """
        version: 1
        sources:
          sitecore: {kind: sitecore-export, path: /hooks/sitecore}
        destinations:
          events: {type: kafka, brokers: embedded, topic: events}
        routes:
          - {name: all, source: [sitecore], to: [events]}
        """

    static func withRuntime(routes: String, _ body: (RelayRuntime, RawHTTPClient) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ready-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try routes.write(toFile: directory + "/routes.yaml", atomically: true, encoding: .utf8)
        var logger = Logger(label: "readiness-test")
        logger.logLevel = .critical
        let options = ServeOptions(configPath: directory + "/routes.yaml", dataDirectory: directory + "/data",
                                   listen: ListenAddress(host: "127.0.0.1", port: 0))
        let port = Mutex<Int?>(nil)
        let runtime = try await RelayRuntime(options: options, logger: logger, onListening: { bound in port.withLock { $0 = bound } })
        let run = Task { try await runtime.run(gracefulShutdownSignals: []) }
        defer { run.cancel() }
        let bound = await eventually { port.withLock { $0 } != nil }
        try #require(bound)
        try await body(runtime, RawHTTPClient(port: port.withLock { $0 }!))
        run.cancel()
        _ = try? await run.value
    }
}
