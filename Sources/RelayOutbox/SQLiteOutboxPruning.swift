// SQLiteOutbox's upkeep: delivered rows, finished export jobs and events left without either go after the retention.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox {
    package func prune(deliveredBefore cutoff: Date) async throws -> Int {
        try await database.write { db in
            let before = cutoff.timeIntervalSince1970
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
            try db.execute(sql: Self.pruneEventsSQL, arguments: [before])
            return removed
        }
    }

    /// Events past the retention with no delivery and no export job left. Each `NOT EXISTS`, and the
    /// foreign-key check of each delete, is one index probe (`deliveries_by_event`, export_jobs' primary
    /// key), not a scan of `deliveries` per event.
    static let pruneEventsSQL = """
        DELETE FROM events WHERE received_at < ?
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
          AND NOT EXISTS (SELECT 1 FROM export_jobs j WHERE j.event_id = events.id)
        """
}
