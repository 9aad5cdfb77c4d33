// SQLiteOutbox as a QueuedRowReader: the pending-rows query stepped by hand, columns read in place.
import GRDB
import GRDBSQLite

extension SQLiteOutbox: QueuedRowReader {
    package func visitQueued(destination: String, afterID: Int64, limit: Int,
                             _ visit: @escaping @Sendable (QueuedRow) -> Bool) async throws -> QueuedRowVisit {
        try await database.read { db in
            let statement = try db.cachedStatement(sql: Self.deliveriesSQL(state: .queued))
            try statement.setArguments([destination, afterID, limit])
            let sqlite = statement.sqliteStatement
            defer { sqlite3_reset(sqlite) }
            var result = QueuedRowVisit(taken: 0, reachedEnd: false)
            while true {
                let code = sqlite3_step(sqlite)
                if code == SQLITE_DONE {
                    result.reachedEnd = result.taken < limit
                    return result
                }
                guard code == SQLITE_ROW else {
                    throw statement.stepFailure(code, in: db)
                }
                // Columns of `deliveriesSQL`: d.id, d.msg_key, d.headers, d.attempts, d.created_at, d.next_attempt_at,
                // e.id, e.source, e.type, e.subject, e.received_at, e.body.
                let row = QueuedRow(
                    deliveryID: sqlite3_column_int64(sqlite, 0),
                    key: Self.bytes(sqlite, 1), headerText: Self.bytes(sqlite, 2) ?? Self.emptyHeaders,
                    eventID: Self.bytes(sqlite, 6) ?? Self.empty, source: Self.bytes(sqlite, 7) ?? Self.empty,
                    eventType: Self.bytes(sqlite, 8) ?? Self.empty, subject: Self.bytes(sqlite, 9),
                    receivedAt: sqlite3_column_double(sqlite, 10), body: Self.bytes(sqlite, 11) ?? Self.empty)
                guard visit(row) else { return result }
                result.taken += 1
            }
        }
    }

    /// A text or blob column's bytes in place (nil for NULL; valid until the next step).
    private static func bytes(_ statement: SQLiteStatement, _ column: Int32) -> UnsafeRawBufferPointer? {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL:
            return nil
        case SQLITE_BLOB:
            let pointer = sqlite3_column_blob(statement, column)
            return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(statement, column)))
        default:
            let pointer = sqlite3_column_text(statement, column)
            return UnsafeRawBufferPointer(start: pointer.map(UnsafeRawPointer.init), count: Int(sqlite3_column_bytes(statement, column)))
        }
    }

    private static var empty: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }
    private static var emptyHeaders: UnsafeRawBufferPointer {
        let text: StaticString = "[]"
        return UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
    }
}
