// SQLiteOutbox as the dispatcher's DeliveryQueue: the cursor, pending rows, recorded outcomes.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox: DeliveryQueue {
    package func deliveredThrough(destination: String) async throws -> Int64 {
        try await database.read { db in try Self.deliveredThrough(destination, in: db) }
    }

    static func deliveredThrough(_ destination: String, in db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT delivered_through FROM delivery_cursors WHERE destination = ?",
                           arguments: [destination]) ?? 0
    }

    package func queuedDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery] {
        try await deliveries(state: .queued, destination: destination, afterID: afterID, limit: limit)
    }

    package func retryingDeliveries(destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery] {
        try await deliveries(state: .retrying, destination: destination, afterID: afterID, limit: limit)
    }

    private func deliveries(state: OutboxSchema.State, destination: String, afterID: Int64, limit: Int) async throws -> [PendingDelivery] {
        try await database.read { db in
            let statement = try db.cachedStatement(sql: Self.deliveriesSQL(state: state))
            // A cursor reads each column straight from SQLite, by position, without a Row copy per
            // row: this runs for every delivery the dispatcher loads.
            let rows = try Row.fetchCursor(statement, arguments: [destination, afterID, limit])
            var pending: [PendingDelivery] = []
            pending.reserveCapacity(min(limit, 5_000))
            // A route renders few distinct header sets (often one per tenant): each is decoded once per read.
            var decodedHeaders: [String: [PlannedDelivery.Header]] = [:]
            while let row = try rows.next() {
                let attempts: Int = row[3]
                let headerText: String = row[2]
                let headers: [PlannedDelivery.Header]
                if let decoded = decodedHeaders[headerText] {
                    headers = decoded
                } else {
                    headers = HeaderCoding.decode(headerText)
                    if decodedHeaders.count < 64 { decodedHeaders[headerText] = headers }
                }
                let body = try row.withUnsafeData(atIndex: 11) { data in data.map { [UInt8]($0) } ?? [] }
                pending.append(PendingDelivery(
                    item: DeliveryItem(
                        deliveryID: row[0], destination: destination, eventID: EventID(stored: row[6]),
                        source: row[7], eventType: row[8], subject: row[9],
                        receivedAt: Date(timeIntervalSince1970: row[10]), key: row[1],
                        headers: headers, body: body, attempt: attempts + 1),
                    attempts: attempts,
                    createdAt: Date(timeIntervalSince1970: row[4]),
                    nextAttemptAt: Date(timeIntervalSince1970: row[5]),
                    retrying: state == .retrying))
            }
            return pending
        }
    }

    /// Deliveries of one state and destination after an id, with their events. The state is written out,
    /// not bound: only then can SQLite use that state's partial index (with a bound state it walks the
    /// table by id from `afterID`, through every row of every destination).
    static func deliveriesSQL(state: OutboxSchema.State) -> String {
        """
        SELECT d.id, d.msg_key, d.headers, d.attempts, d.created_at, d.next_attempt_at,
               e.id AS event_id, e.source, e.type, e.subject, e.received_at, e.body
        FROM deliveries d JOIN events e ON e.seq = d.event_seq
        WHERE d.destination = ? AND d.state = \(state.rawValue) AND d.id > ?
        ORDER BY d.id LIMIT ?
        """
    }

    package func record(_ changes: [DeliveryStateChange], destination: String, deliveredThrough: Int64?, at now: Date) async throws {
        let stamp = now.timeIntervalSince1970
        try await database.writeWithoutTransaction { db in
            // Losing these writes in a power cut only repeats deliveries, so they skip the fsync an
            // acknowledged append needs; the group-commit writer sets FULL again before each of its commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            try db.inTransaction {
                let retry = try db.cachedStatement(sql: """
                    UPDATE deliveries SET state = 1, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?
                    """)
                let finish = try db.cachedStatement(sql: """
                    UPDATE deliveries SET state = ?, attempts = ?, finished_at = ?, last_error = ? WHERE id = ?
                    """)
                for change in changes {
                    switch change.outcome {
                    case .delivered:
                        try finish.execute(arguments: [OutboxSchema.State.delivered.rawValue, change.attempts, stamp, nil, change.deliveryID])
                    case .dead(let reason):
                        try finish.execute(arguments: [OutboxSchema.State.dead.rawValue, change.attempts, stamp, reason, change.deliveryID])
                    case .retry(let next, let error):
                        try retry.execute(arguments: [change.attempts, next.timeIntervalSince1970, error, change.deliveryID])
                    }
                }
                if let deliveredThrough {
                    try db.cachedStatement(sql: """
                        INSERT INTO delivery_cursors (destination, delivered_through) VALUES (?, ?)
                        ON CONFLICT (destination) DO UPDATE SET delivered_through = max(delivered_through, excluded.delivered_through)
                        """).execute(arguments: [destination, deliveredThrough])
                }
                return .commit
            }
        }
    }

    package func deadLetterPending(destination: String, reason: String, at now: Date) async throws -> Int {
        try await database.write { db in
            let cursor = try Self.deliveredThrough(destination, in: db)
            // `state = 0` / `= 1` written out so the partial indexes are used.
            try db.execute(sql: """
                UPDATE deliveries SET state = 3, finished_at = ?, last_error = ?
                WHERE destination = ? AND ((state = 0 AND id > ?) OR state = 1)
                """, arguments: [now.timeIntervalSince1970, reason, destination, cursor])
            return db.changesCount
        }
    }
}
