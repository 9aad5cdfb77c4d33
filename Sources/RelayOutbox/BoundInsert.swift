// An INSERT run by binding its parameters to the prepared statement directly: the append path's statements
// run once per event (and per delivery) on the group-commit writer, the thread every acknowledgement waits for.
import GRDB
import GRDBSQLite

/// One execution of a cached statement with parameters bound in place (no `StatementArguments`, no
/// `DatabaseValue` per column; SQLite copies what it keeps). Bind every parameter, then ``run(in:)``.
struct BoundInsert {
    private let statement: Statement
    private let handle: SQLiteStatement

    init(_ statement: Statement) {
        self.statement = statement
        handle = statement.sqliteStatement
    }

    /// `index` is 1-based, as in SQLite; nil binds NULL.
    func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withUTF8 { bytes in
            // A nil pointer would bind NULL: the empty string is bound from a literal.
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                sqlite3_bind_text(handle, index, "", 0, Self.transient)
                return
            }
            base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                _ = sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(handle, index, value)
    }

    func bind(_ index: Int32, _ value: Double) {
        sqlite3_bind_double(handle, index, value)
    }

    func bindBlob(_ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                sqlite3_bind_zeroblob(handle, index, 0)
                return
            }
            sqlite3_bind_blob(handle, index, base, Int32(buffer.count), Self.transient)
        }
    }

    /// Steps the statement once and resets it; throws SQLite's error (a constraint, a full disk, ...).
    func run(in db: Database) throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw statement.stepFailure(code, in: db) }
    }

    /// SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

extension Statement {
    /// The error of a step by hand (`sqlite3_step` on ``sqliteStatement``) that returned `code`, with
    /// SQLite's message, as GRDB reports its own.
    func stepFailure(_ code: Int32, in db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: sql)
    }
}
