// Runs an ExportRunner over a real SQLite outbox and recording sinks, with a routing table the test writes.
import Foundation
import Logging
import RelayCore
import RelayCurl
import RelayDelivery
import RelayExport
import RelayOutbox
import Testing

final class ExportHarness: Sendable {
    let outbox: SQLiteOutbox
    let directory: String
    let table: RoutingTable
    let sinks: [String: RecordingSink]
    let runner: ExportRunner
    let client: CurlClient

    /// `sourceExport` and `routeExport` are the YAML bodies of the source's and route's `export:` sections.
    init(sourceExport: String = "{allowHosts: [127.0.0.1, localhost], allowPlainHTTP: [127.0.0.1, localhost], allowPrivateAddresses: [127.0.0.1, localhost], pollInitialDelay: 10ms, pollMaxDelay: 50ms, pollDeadline: 30s}",
         routeExport: String? = nil, destinations: [String] = ["records"], secrets: [String: String] = [:]) throws {
        let yaml = """
            sources:
              sitecore:
                kind: sitecore-export
                path: /hooks/sitecore
                export: \(sourceExport)
            destinations:
            \(destinations.map { "  \($0): {type: kafka, brokers: embedded, topic: \($0), delivery: {maxAttempts: 5, initialBackoff: 10ms, maxBackoff: 20ms}}" }.joined(separator: "\n"))
            routes:
              - name: exports
                source: sitecore
                to: [\(destinations.joined(separator: ", "))]
                fetchExport: true
            \(routeExport.map { "    export: \($0)" } ?? "")
            """
        table = try RoutingTableLoader.load(yaml: yaml, file: "test.yaml").get()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)").path
        var logger = Logger(label: "export-test")
        logger.logLevel = .error
        outbox = try SQLiteOutbox(dataDirectory: directory, logger: logger)
        var recording: [String: RecordingSink] = [:]
        for name in destinations { recording[name] = RecordingSink() }
        sinks = recording
        client = CurlClient(logger: logger)
        let table = self.table
        runner = ExportRunner(
            queue: outbox, table: table, sinks: recording.mapValues { $0 as any Sink }, client: client,
            readSecret: { reference in
                guard case .environment(let name) = reference.location, let value = secrets[name] else {
                    throw SecretMissing(reference: reference)
                }
                return value
            },
            logger: logger)
    }

    struct SecretMissing: Error { var reference: SecretReference }

    deinit {
        client.shutdown()
        outbox.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var sink: RecordingSink { sinks.values.first! }

    /// Appends a notification whose export is at `apiURL`, as ingest would; returns its event id.
    @discardableResult
    func accept(apiURL: String, executionRef: String = UUID().uuidString.lowercased()) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let body = #"{"apiUrl":"\#(apiURL)","executionRef":"\#(executionRef)","status":"SUCCESS"}"#
        let event = NewEvent(
            id: EventID(stored: id), source: "sitecore", type: "com.sitecore.cdp.audience-export.notification", subject: nil,
            dedupeKey: executionRef, receivedAt: Date(), body: Array(body.utf8), deliveries: [],
            export: PlannedExport(route: "exports", destinations: table.routes[0].destinations, executionRef: ExecutionRef(stored: executionRef), apiURL: apiURL))
        _ = try await outbox.append(event)
        runner.wake()
        return id
    }

    /// Runs the runner while `body` runs, then stops it.
    func running(_ body: () async throws -> Void) async throws {
        let task = Task { try await runner.run() }
        defer { task.cancel() }
        try await body()
        task.cancel()
        _ = await task.result
    }

    /// Waits until the job is no longer pending (or `timeout` passes) and returns it.
    func waitForJob(_ eventID: String, timeout: Duration = .seconds(20)) async throws -> ExportJob {
        let deadline = ContinuousClock.now + timeout
        while true {
            let job = try await outbox.exportJobs(executionRef: nil, limit: 100).first { $0.eventID.rawValue == eventID }
            if let job, job.state != .pending { return job }
            if ContinuousClock.now >= deadline {
                Issue.record("export job \(eventID) still pending after \(timeout): \(job?.lastError ?? "no error")")
                return try #require(job)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
