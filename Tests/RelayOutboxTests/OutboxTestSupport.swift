// Temp-dir outboxes and event builders for the outbox tests.
import Foundation
import Logging
import RelayCore
import RelayOutbox

enum OutboxTestSupport {
    static func withOutbox(commitMode: CommitMode = .grouped, _ body: (SQLiteOutbox, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let outbox = try SQLiteOutbox(dataDirectory: directory, commitMode: commitMode, logger: logger)
        defer { outbox.close() }
        try await body(outbox, directory)
    }

    static func event(source: String = "s", dedupe: String = UUID().uuidString, destinations: [String] = ["k"],
                      key: String? = nil, export: PlannedExport? = nil, at date: Date = Date()) -> NewEvent {
        NewEvent(id: EventID.make(), source: source, type: "t", subject: nil, dedupeKey: dedupe,
                 receivedAt: date, body: Array(#"{"dedupe":"\#(dedupe)"}"#.utf8),
                 deliveries: destinations.map { PlannedDelivery(destination: $0, key: key, headers: [.init(name: "h", value: "v")], route: "r") },
                 export: export)
    }
}
