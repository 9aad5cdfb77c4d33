// Tests of export jobs recorded by earlier outbox versions, after the upgrade.
import Foundation
import Logging
import RelayCore
import RelayOutbox
import RelayTestSupport
import Testing

@Suite struct ExportJobUpgradeTests {
    /// An outbox written before export jobs stored their source, executionRef and apiUrl (schema v1)
    /// is upgraded with them filled in from the event, so its jobs still run; its pending deliveries too (v5).
    @Test func jobsRecordedBeforeV2AreBackfilled() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-v1-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let v1 = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.executescript(sys.argv[2])
            body = b'{"apiUrl":"https://api.example.com/e/1","executionRef":"6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c","status":"SUCCESS"}'
            db.execute("INSERT INTO events VALUES ('evt-old', 'sitecore', 't', NULL, 'k', 1.0, ?)", (body,))
            db.execute("INSERT INTO export_jobs (event_id, next_attempt_at, created_at, updated_at) VALUES ('evt-old', 1.0, 1.0, 1.0)")
            db.execute("INSERT INTO deliveries (event_id, destination, route, created_at, next_attempt_at) VALUES ('evt-old', 'k', 'r', 1.0, 1.0)")
            db.commit()
            """
        let schema = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1: events, deliveries, export jobs');
            CREATE TABLE events (id TEXT PRIMARY KEY NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, subject TEXT,
              dedupe_key TEXT NOT NULL, received_at REAL NOT NULL, body BLOB NOT NULL, UNIQUE (source, dedupe_key));
            CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL REFERENCES events(id),
              destination TEXT NOT NULL, route TEXT NOT NULL, msg_key TEXT, headers TEXT NOT NULL DEFAULT '[]',
              state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
              next_attempt_at REAL NOT NULL, finished_at REAL, last_error TEXT);
            CREATE INDEX deliveries_due ON deliveries (destination, state, id);
            CREATE INDEX deliveries_by_key ON deliveries (destination, msg_key, id) WHERE state = 0;
            CREATE INDEX deliveries_finished ON deliveries (state, finished_at) WHERE state = 2;
            CREATE TABLE export_jobs (event_id TEXT PRIMARY KEY NOT NULL REFERENCES events(id),
              state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
              checkpoint_file INTEGER NOT NULL DEFAULT 0, checkpoint_record INTEGER NOT NULL DEFAULT 0,
              records_sent INTEGER NOT NULL DEFAULT 0, bytes_received INTEGER NOT NULL DEFAULT 0,
              created_at REAL NOT NULL, updated_at REAL NOT NULL, last_error TEXT);
            """
        _ = try await Subprocess.run("python3", ["-c", v1, directory + "/" + SQLiteOutbox.fileName, schema])
        let outbox = try SQLiteOutbox(dataDirectory: directory, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        defer { outbox.close() }
        let job = try #require(try await outbox.dueExportJobs(now: Date(), limit: 10, excluding: []).first)
        #expect(job.eventID.rawValue == "evt-old" && job.source == "sitecore")
        #expect(job.executionRef.rawValue == "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c")
        #expect(job.apiURL == "https://api.example.com/e/1")
        #expect(job.destinations.isEmpty && job.route.isEmpty)
        // Its pending delivery survives the v5 rebuild of `events` and is read through the integer key.
        let pending = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 10)
        #expect(pending.map(\.item.eventID.rawValue) == ["evt-old"])
        #expect(pending.first.map { String(decoding: $0.item.body, as: UTF8.self) }?.contains("executionRef") == true)
        #expect(try await outbox.stats(now: Date()).first?.pending == 1)
    }
}
