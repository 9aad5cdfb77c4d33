// SQLiteOutbox as the dispatcher's DeliveryQueue.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox: DeliveryQueue {
    public func pendingDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery] {
        try await database.read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT d.id, d.msg_key, d.headers, d.attempts, d.created_at, d.next_attempt_at,
                       e.id AS event_id, e.source, e.type, e.subject, e.received_at, e.body
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.destination = ? AND d.state = 0 AND d.id > ?
                ORDER BY d.id LIMIT ?
                """)
            // A cursor reads each column straight from SQLite, by position, without a Row copy per
            // row: this runs for every delivery the dispatcher loads.
            let rows = try Row.fetchCursor(statement, arguments: [destination, afterID, limit])
            var pending: [PendingDelivery] = []
            pending.reserveCapacity(min(limit, 5_000))
            while let row = try rows.next() {
                let attempts: Int = row[3]
                let headers: String = row[2]
                let body = try row.withUnsafeData(atIndex: 11) { data in data.map { [UInt8]($0) } ?? [] }
                pending.append(PendingDelivery(
                    item: DeliveryItem(
                        deliveryID: row[0], destination: destination, eventID: row[6],
                        source: row[7], eventType: row[8], subject: row[9],
                        receivedAt: Date(timeIntervalSince1970: row[10]), key: row[1],
                        headers: HeaderCoding.decode(headers), body: body, attempt: attempts + 1),
                    attempts: attempts,
                    createdAt: Date(timeIntervalSince1970: row[4]),
                    nextAttemptAt: Date(timeIntervalSince1970: row[5])))
            }
            return pending
        }
    }

    public func record(_ outcomes: [(deliveryID: Int64, outcome: RecordedOutcome)], at now: Date) async throws {
        let stamp = now.timeIntervalSince1970
        let delivered = outcomes.compactMap { $0.outcome == .delivered ? $0.deliveryID : nil }
        try await database.write { db in
            // Delivered rows (nearly all of them) are marked in chunks, one statement per chunk.
            for chunk in stride(from: 0, to: delivered.count, by: Self.updateChunk).map({ delivered[$0..<min($0 + Self.updateChunk, delivered.count)] }) {
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let statement = try db.cachedStatement(sql: "UPDATE deliveries SET state = 2, attempts = attempts + 1, finished_at = ?, last_error = NULL WHERE id IN (\(placeholders))")
                try statement.execute(arguments: StatementArguments([stamp] + chunk.map { $0 as (any DatabaseValueConvertible) }))
            }
            let retry = try db.cachedStatement(sql: "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?")
            let dead = try db.cachedStatement(sql: "UPDATE deliveries SET state = 3, attempts = attempts + 1, finished_at = ?, last_error = ? WHERE id = ?")
            for (id, outcome) in outcomes {
                switch outcome {
                case .delivered: continue
                case .retry(let next, let error): try retry.execute(arguments: [next.timeIntervalSince1970, error, id])
                case .dead(let reason): try dead.execute(arguments: [stamp, reason, id])
                }
            }
        }
    }

    /// Ids per `UPDATE … WHERE id IN (…)`; a fixed size keeps the statement cache small (the tail differs).
    static let updateChunk = 500

    public func deadLetters(destination: String?, limit: Int) async throws -> [DeadLetter] {
        try await database.read { db in
            var sql = "SELECT id, event_id, destination, route, attempts, created_at, finished_at, last_error FROM deliveries WHERE state = 3"
            var arguments: StatementArguments = []
            if let destination {
                sql += " AND destination = ?"
                arguments += [destination]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let finished: Double? = row["finished_at"]
                return DeadLetter(deliveryID: row["id"], eventID: row["event_id"], destination: row["destination"],
                                  route: row["route"], attempts: row["attempts"],
                                  createdAt: Date(timeIntervalSince1970: row["created_at"]),
                                  deadAt: finished.map(Date.init(timeIntervalSince1970:)),
                                  reason: row["last_error"] ?? "")
            }
        }
    }

    public func replay(deliveryIDs: [Int64]) async throws -> Int {
        let now = Date().timeIntervalSince1970
        return try await database.write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 0, attempts = 0, next_attempt_at = ?, created_at = ?, finished_at = NULL
                WHERE id = ? AND state = 3
                """)
            var count = 0
            for id in deliveryIDs {
                try statement.execute(arguments: [now, now, id])
                count += db.changesCount
            }
            return count
        }
    }

    public func replay(destination: String) async throws -> Int {
        let now = Date().timeIntervalSince1970
        return try await database.write { db in
            try db.execute(sql: """
                UPDATE deliveries SET state = 0, attempts = 0, next_attempt_at = ?, created_at = ?, finished_at = NULL
                WHERE destination = ? AND state = 3
                """, arguments: [now, now, destination])
            return db.changesCount
        }
    }

    public func stats(now: Date) async throws -> [DestinationStats] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT destination,
                       SUM(state = 0) AS pending, MIN(CASE WHEN state = 0 THEN created_at END) AS oldest,
                       SUM(state = 3) AS dead, SUM(state = 2) AS delivered
                FROM deliveries GROUP BY destination ORDER BY destination
                """).map { row in
                let oldest: Double? = row["oldest"]
                return DestinationStats(destination: row["destination"], pending: row["pending"],
                                        oldestPendingAge: oldest.map { max(0, now.timeIntervalSince1970 - $0) },
                                        dead: row["dead"], delivered: row["delivered"])
            }
        }
    }

    public func prune(deliveredBefore cutoff: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM deliveries WHERE state = 2 AND finished_at < ?", arguments: [cutoff.timeIntervalSince1970])
            let removed = db.changesCount
            // Export jobs that finished well go with their retention too; dead ones stay for the operator.
            try db.execute(sql: "DELETE FROM export_jobs WHERE state = 2 AND finished_at < ?", arguments: [cutoff.timeIntervalSince1970])
            try db.execute(sql: """
                DELETE FROM events WHERE received_at < ?
                  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)
                  AND NOT EXISTS (SELECT 1 FROM export_jobs j WHERE j.event_id = events.id)
                """, arguments: [cutoff.timeIntervalSince1970])
            return removed
        }
    }
}
