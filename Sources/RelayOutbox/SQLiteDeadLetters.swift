// SQLiteOutbox's dead letters: listing them with their reasons and replaying them (CLI and admin API).
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox {
    package func deadLetters(destination: String?, limit: Int) async throws -> [DeadLetter] {
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

    package func replay(deliveryIDs: [Int64]) async throws -> Int {
        let now = Date().timeIntervalSince1970
        let (count, destinations) = try await database.write { db in
            let statement = try db.cachedStatement(sql: """
                UPDATE deliveries SET state = 1, attempts = 0, next_attempt_at = ?, created_at = ?, finished_at = NULL
                WHERE id = ? AND state = 3 RETURNING destination
                """)
            var count = 0
            var destinations: Set<String> = []
            for id in deliveryIDs {
                if let destination = try String.fetchOne(statement, arguments: [now, now, id]) {
                    count += 1
                    destinations.insert(destination)
                }
            }
            return (count, destinations)
        }
        commits.announce(CommittedWork(destinations: destinations))
        return count
    }

    package func replay(destination: String) async throws -> Int {
        let now = Date().timeIntervalSince1970
        let count = try await database.write { db in
            try db.execute(sql: """
                UPDATE deliveries SET state = 1, attempts = 0, next_attempt_at = ?, created_at = ?, finished_at = NULL
                WHERE destination = ? AND state = 3
                """, arguments: [now, now, destination])
            return db.changesCount
        }
        if count > 0 { commits.announce(CommittedWork(destinations: [destination])) }
        return count
    }
}
