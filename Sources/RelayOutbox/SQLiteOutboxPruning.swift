// SQLiteOutbox's upkeep: delivered rows, finished export jobs and events left without either go after the
// retention, a batch per transaction, so that ingest's group commits wait for one batch, not for the prune.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox {
    /// Rows one prune transaction deletes at most. Deleting a million events with their deliveries in one
    /// transaction held the writer (which ingest's group commits need) for ~15 s; a batch of 1,000 holds it
    /// for milliseconds (bench/README.md, Pruning).
    static let pruneBatch = 1_000

    package func prune(deliveredBefore cutoff: Date) async throws -> Int {
        let before = cutoff.timeIntervalSince1970
        let cursors = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT destination, delivered_through FROM delivery_cursors")
                .map { (destination: $0["destination"] as String, through: $0["delivered_through"] as Int64) }
        }
        var removed = 0
        for cursor in cursors {
            removed += try await deleteInBatches(Self.prunePassedSQL, [cursor.destination, cursor.through, before])
        }
        removed += try await deleteInBatches(Self.pruneDeliveredSQL, [before])
        // Export jobs that finished well go with their retention too; dead ones stay for the operator.
        _ = try await deleteInBatches(Self.pruneExportJobsSQL, [before])
        try await pruneEvents(receivedBefore: before)
        return removed
    }

    /// Runs `sql`, a DELETE whose last parameter is the batch size, one transaction at a time until a run
    /// deletes less than a batch. Returns the rows deleted.
    private func deleteInBatches(_ sql: String, _ values: [(any DatabaseValueConvertible)?]) async throws -> Int {
        let arguments = StatementArguments(values + [Self.pruneBatch])
        var total = 0
        while true {
            let deleted = try await database.write { db in
                try db.execute(sql: sql, arguments: arguments)
                return db.changesCount
            }
            total += deleted
            if deleted < Self.pruneBatch { return total }
        }
    }

    /// Deletes events past the retention that no delivery and no export job refers to. They are found by
    /// one read (``pruneEventsSQL``: a single pass over `deliveries`, on a reader, so ingest goes on) and
    /// deleted ``pruneBatch`` at a time. Found unreferenced means unreferenced for good: deliveries and
    /// export jobs are only ever inserted with their own new event.
    ///
    /// Only unreferenced events are deleted, so the foreign-key checks of those deletes can only pass;
    /// they are off for these transactions because each would scan `deliveries` (its `event_id` has no
    /// index: one more index entry per delivery cost ingest 5-7% when measured). The writer connection is
    /// serialized, so no other write sees this.
    private func pruneEvents(receivedBefore before: Double) async throws {
        let unreferenced = try await database.read { db in
            try Int64.fetchAll(db, sql: Self.pruneEventsSQL, arguments: [before, Self.pruneEventsAtMost])
        }
        var start = 0
        while start < unreferenced.count {
            let batch = Array(unreferenced[start..<min(start + Self.pruneBatch, unreferenced.count)])
            start += batch.count
            try await database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA foreign_keys = OFF")
                defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
                try db.inTransaction {
                    try db.execute(sql: "DELETE FROM events WHERE seq IN (\(databaseQuestionMarks(count: batch.count)))",
                                   arguments: StatementArguments(batch))
                    return .commit
                }
            }
        }
    }

    /// Queued rows of one destination its cursor passed (delivered), past the retention.
    static let prunePassedSQL = """
        DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries
          WHERE destination = ? AND state = 0 AND id <= ? AND created_at < ? ORDER BY id LIMIT ?)
        """

    /// Rows delivered after a retry (state 2), past the retention.
    static let pruneDeliveredSQL = """
        DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE state = 2 AND finished_at < ? LIMIT ?)
        """

    static let pruneExportJobsSQL = """
        DELETE FROM export_jobs WHERE event_id IN (SELECT event_id FROM export_jobs WHERE state = 2 AND finished_at < ? LIMIT ?)
        """

    /// Events past the retention with no delivery and no export job left (their `seq`, oldest first).
    /// `NOT IN` over a subquery is built once per statement (one pass over `deliveries`), where a correlated
    /// `NOT EXISTS` on an unindexed column was a scan of `deliveries` per event.
    static let pruneEventsSQL = """
        SELECT seq FROM events WHERE received_at < ?
          AND seq NOT IN (SELECT event_seq FROM deliveries WHERE event_seq IS NOT NULL)
          AND id NOT IN (SELECT event_id FROM export_jobs)
        ORDER BY seq LIMIT ?
        """

    /// Events one prune deletes at most (8 bytes each in memory); the rest wait for the next prune.
    static let pruneEventsAtMost = 1_000_000
}
