// SQLiteOutbox's upkeep: delivered rows, finished export jobs and events left without either go after the retention.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox {
    package func prune(deliveredBefore cutoff: Date) async throws -> Int {
        try await database.writeWithoutTransaction { db in
            // Only events no delivery and no export job refers to are deleted, so the foreign-key checks
            // of those deletes can only pass; they are off for this one transaction because each would
            // scan `deliveries` (its event_id has no index: one more index entry per delivery cost ingest
            // ~10% when measured). The writer connection is serialized, so no other write sees this.
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            var removed = 0
            try db.inTransaction {
                removed = try Self.pruneRows(before: cutoff.timeIntervalSince1970, in: db)
                return .commit
            }
            return removed
        }
    }

    private static func pruneRows(before: Double, in db: Database) throws -> Int {
        var removed = 0
        let cursors = try Row.fetchAll(db, sql: "SELECT destination, delivered_through FROM delivery_cursors")
        for cursor in cursors {
            try db.execute(sql: "DELETE FROM deliveries WHERE destination = ? AND state = 0 AND id <= ? AND created_at < ?",
                           arguments: [cursor["destination"] as String, cursor["delivered_through"] as Int64, before])
            removed += db.changesCount
        }
        try db.execute(sql: "DELETE FROM deliveries WHERE state = 2 AND finished_at < ?", arguments: [before])
        removed += db.changesCount
        // Export jobs that finished well go with their retention too; dead ones stay for the operator.
        try db.execute(sql: "DELETE FROM export_jobs WHERE state = 2 AND finished_at < ?", arguments: [before])
        try db.execute(sql: pruneEventsSQL, arguments: [before])
        return removed
    }

    /// Events past the retention with no delivery and no export job left. `NOT IN` over a subquery is
    /// built once per statement (one pass over `deliveries`), where a correlated `NOT EXISTS` on an
    /// unindexed column was a scan of `deliveries` per event.
    static let pruneEventsSQL = """
        DELETE FROM events WHERE received_at < ?
          AND seq NOT IN (SELECT event_seq FROM deliveries WHERE event_seq IS NOT NULL)
          AND id NOT IN (SELECT event_id FROM export_jobs)
        """
}
