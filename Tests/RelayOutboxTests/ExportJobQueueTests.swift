// Export jobs in the SQLite outbox: written with their event, claimed when due, checkpointed, finished, pruned.
import Foundation
import Logging
import RelayCore
import RelayOutbox
import RelayTestSupport
import Testing

@Suite struct ExportJobQueueTests {
    static func export(_ ref: String) -> PlannedExport {
        PlannedExport(route: "exports", destinations: ["k", "h"], executionRef: ref, apiURL: "https://api.example.com/e/\(ref)")
    }

    @Test func jobsAreWrittenWithTheirEventAndCarryTheirProgress() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let now = Date()
            let first = OutboxTestSupport.event(destinations: [], export: Self.export("ref-1"), at: now)
            _ = try await outbox.append(first)
            // A duplicate notification records no second job.
            _ = try await outbox.append(OutboxTestSupport.event(dedupe: first.dedupeKey, destinations: [], export: Self.export("ref-1"), at: now))
            _ = try await outbox.append(OutboxTestSupport.event(destinations: ["k"], at: now))

            let due = try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: [])
            #expect(due.map(\.executionRef) == ["ref-1"])
            let job = try #require(due.first)
            #expect(job.eventID == first.id && job.destinations == ["k", "h"] && job.route == "exports" && job.source == "s")
            #expect(job.apiURL == "https://api.example.com/e/ref-1" && job.state == .pending && job.attempts == 0)
            #expect(try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: [first.id]).isEmpty)

            var progress = ExportProgress()
            progress.fileCount = 2
            progress.fileIndex = 1
            progress.recordIndex = 42
            progress.recordsSent = 1042
            progress.files = [ExportFileSummary(url: "https://api.example.com/f0?…", change: "added", records: 1000, bytes: 5, sha256: "ab")]
            try await outbox.rescheduleExportJob(eventID: job.eventID, next: now.addingTimeInterval(60), error: "not ready", progress: progress, at: now)
            #expect(try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: []).isEmpty)
            #expect(try await outbox.nextExportJobDue(excluding: [])?.timeIntervalSince1970.rounded() == now.addingTimeInterval(60).timeIntervalSince1970.rounded())
            let rescheduled = try #require(try await outbox.exportJobs(executionRef: "ref-1", limit: 10).first)
            #expect(rescheduled.progress == progress)
            #expect(rescheduled.attempts == 1 && rescheduled.lastError == "not ready")

            try await outbox.finishExportJob(eventID: job.eventID, state: .done, error: nil, progress: progress, at: now)
            #expect(try await outbox.exportJobs(executionRef: nil, limit: 10).first?.state == .done)
            #expect(try await outbox.nextExportJobDue(excluding: []) == nil)
            // Finished jobs and their events go after the retention.
            _ = try await outbox.prune(deliveredBefore: now.addingTimeInterval(1))
            #expect(try await outbox.exportJobs(executionRef: nil, limit: 10).isEmpty)
        }
    }
}

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
        #expect(job.eventID == "evt-old" && job.source == "sitecore")
        #expect(job.executionRef == "6f1c2b9e-6a5d-4c1e-9b7a-2d4e6f8a0b1c")
        #expect(job.apiURL == "https://api.example.com/e/1")
        #expect(job.destinations.isEmpty && job.route.isEmpty)
        // Its pending delivery survives the v5 rebuild of `events` and is read through the integer key.
        let pending = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 10)
        #expect(pending.map(\.item.eventID) == ["evt-old"])
        #expect(pending.first.map { String(decoding: $0.item.body, as: UTF8.self) }?.contains("executionRef") == true)
        #expect(try await outbox.stats(now: Date()).first?.pending == 1)
    }
}
