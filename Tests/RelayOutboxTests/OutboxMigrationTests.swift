// Opening an outbox written by an earlier release: the migrations keep its events, deliveries and dedupe keys working.
import Foundation
import GRDB
import Logging
import RelayCore
@testable import RelayOutbox
import Testing

@Suite struct OutboxMigrationTests {
    static let sitecoreType = "com.sitecore.cdp.audience-export.notification"

    /// Writes `<directory>/outbox.sqlite` as release v5 left it: Sitecore events keyed by executionRef alone.
    static func writeV5Outbox(in directory: String, rows: [(id: String, type: String, key: String, body: String)]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try DatabaseQueue(path: (directory as NSString).appendingPathComponent(SQLiteOutbox.fileName))
        try OutboxSchema.migrator.migrate(database, upTo: OutboxSchema.v5)
        try database.write { db in
            for row in rows {
                try db.execute(sql: """
                    INSERT INTO events (id, source, type, subject, dedupe_key, received_at, body) VALUES (?, 's', ?, NULL, ?, ?, ?)
                    """, arguments: [row.id, row.type, row.key, Date().timeIntervalSince1970, Data(row.body.utf8)])
                let seq = db.lastInsertedRowID
                try db.execute(sql: """
                    INSERT INTO deliveries (event_id, event_seq, destination, route, headers, created_at, next_attempt_at)
                    VALUES (?, ?, 'k', 'r', '[]', ?, ?)
                    """, arguments: [row.id, seq, Date().timeIntervalSince1970, Date().timeIntervalSince1970])
            }
        }
    }

    /// A notification accepted before the upgrade (key = executionRef) is still a duplicate when
    /// re-sent with the same status; another status of that execution is new; other kinds keep their keys.
    @Test func aV5OutboxKeepsRecognisingSitecoreNotificationsUnderTheNewKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-v5-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ref = "9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c"
        try Self.writeV5Outbox(in: directory, rows: [
            (id: "old-success", type: Self.sitecoreType, key: ref, body: #"{"executionRef":"\#(ref)","status":"SUCCESS"}"#),
            (id: "old-adobe", type: "com.adobe.aep.external-audience.operation-status", key: "op|FAILED",
             body: #"{"operationId":"op","status":"FAILED"}"#),
            (id: "old-custom", type: Self.sitecoreType, key: "vip_list", body: #"{"executionRef":"x","friendlyId":"vip_list"}"#),
        ])
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let outbox = try SQLiteOutbox(dataDirectory: directory, logger: logger)
        defer { outbox.close() }

        let keys = try await outbox.database.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, dedupe_key FROM events").map {
                ($0["id"] as String, $0["dedupe_key"] as String)
            })
        }
        #expect(keys == ["old-success": "\(ref)|SUCCESS", "old-adobe": "op|FAILED", "old-custom": "vip_list"])

        let resent = try await outbox.append(OutboxTestSupport.event(dedupe: "\(ref)|SUCCESS"))
        #expect(resent == AppendResult(id: EventID(stored: "old-success"), duplicate: true))
        let failedLater = try await outbox.append(OutboxTestSupport.event(dedupe: "\(ref)|FAILED"))
        #expect(!failedLater.duplicate)
        // The deliveries written before the upgrade are still pending, next to the new one.
        #expect(try await outbox.stats(now: Date()).first?.pending == 4)
    }
}
