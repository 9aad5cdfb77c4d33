// SQLiteOutbox's statistics per destination: the full count (operators) and the index-only one (gauges).
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox {
    package func stats(now: Date) async throws -> [DestinationStats] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT destination,
                       SUM(pending) AS pending, MIN(CASE WHEN pending THEN created_at END) AS oldest,
                       SUM(state = 3) AS dead, SUM(state = 2 OR (state = 0 AND NOT pending)) AS delivered
                FROM (SELECT d.destination, d.state, d.created_at,
                             (d.state = 0 AND d.id > COALESCE(c.delivered_through, 0)) OR d.state = 1 AS pending
                      FROM deliveries d LEFT JOIN delivery_cursors c ON c.destination = d.destination)
                GROUP BY destination ORDER BY destination
                """).map { row in
                let oldest: Double? = row["oldest"]
                return DestinationStats(destination: row["destination"], pending: row["pending"],
                                        oldestPendingAge: oldest.map { max(0, now.timeIntervalSince1970 - $0) },
                                        dead: row["dead"], delivered: row["delivered"])
            }
        }
    }

    package func pendingStats(destinations: [String], now: Date) async throws -> [DestinationStats] {
        try await database.read { db in
            // `state = 0`, `= 1`, `= 3` are written out (not bound) so SQLite can use the partial indexes.
            try destinations.sorted().map { destination in
                let cursor = try Self.deliveredThrough(destination, in: db)
                let queued = try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries WHERE destination = ? AND state = 0 AND id > ?",
                                              arguments: [destination, cursor]) ?? 0
                let retrying = try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries WHERE destination = ? AND state = 1",
                                                arguments: [destination]) ?? 0
                let oldestQueued = try Double.fetchOne(
                    db, sql: "SELECT created_at FROM deliveries WHERE destination = ? AND state = 0 AND id > ? ORDER BY id LIMIT 1",
                    arguments: [destination, cursor])
                let oldestRetrying = try Double.fetchOne(db, sql: "SELECT min(created_at) FROM deliveries WHERE destination = ? AND state = 1",
                                                         arguments: [destination])
                let dead = try Int.fetchOne(db, sql: "SELECT count(*) FROM deliveries WHERE destination = ? AND state = 3",
                                            arguments: [destination]) ?? 0
                let oldest = [oldestQueued, oldestRetrying].compactMap { $0 }.min()
                return DestinationStats(destination: destination, pending: queued + retrying,
                                        oldestPendingAge: oldest.map { max(0, now.timeIntervalSince1970 - $0) },
                                        dead: dead, delivered: 0)
            }
        }
    }
}
