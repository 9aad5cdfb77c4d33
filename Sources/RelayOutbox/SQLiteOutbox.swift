// The SQLite outbox: one database file in the data directory, WAL mode, synchronous=FULL.
import Foundation
import GRDB
import Logging
import Synchronization

package final class SQLiteOutbox: EventStore, Sendable {
    package static let fileName = "outbox.sqlite"

    let database: DatabasePool
    private let writer: GroupCommitWriter
    package let path: String
    /// Announces every commit that made deliveries or export jobs pending (appends, replays, export retries).
    package let commits = CommitSignal()

    /// Opens (creating if needed) `<dataDirectory>/outbox.sqlite` and migrates it.
    package init(dataDirectory: String, commitMode: CommitMode = .grouped, logger: Logger) throws(OutboxOpenError) {
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw OutboxOpenError(message: "cannot create data directory \(dataDirectory): \(error.localizedDescription)")
        }
        path = (dataDirectory as NSString).appendingPathComponent(Self.fileName)
        var configuration = Configuration()
        configuration.label = "outbox"
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 4
        // Reads of a large backlog go through memory-mapped pages and a 64 MiB cache instead of a pread per page.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            // GRDB puts WAL connections on synchronous=NORMAL; an acknowledged event must survive power loss.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try OutboxSchema.migrator.migrate(database)
        } catch {
            throw OutboxOpenError(message: "cannot open outbox \(path): \(GroupCommitWriter.describe(error))")
        }
        writer = GroupCommitWriter(database: database, mode: commitMode, commits: commits)
        logger.info("outbox open", metadata: ["path": "\(path)", "commit": "\(commitMode.rawValue)"])
    }

    deinit {
        writer.stop()
    }

    package func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult {
        try await writer.append(event)
    }

    /// Why the last commit of events failed, when it did within `window` and none has worked since
    /// (`/readyz`: a small probe row may still fit where a group of events no longer does).
    package func recentCommitFailure(within window: Duration) -> String? {
        writer.lastFailure.withLock { last in
            guard let last, ContinuousClock.now - last.at < window else { return nil }
            return last.reason
        }
    }

    /// Largest number of events committed by one transaction so far.
    package var largestCommitGroup: Int { writer.largestGroup.load(ordering: .relaxed) }

    /// Finishes queued commits and refuses new ones; the database closes when the outbox is released.
    package func close() {
        writer.stop()
    }

    /// The writer connection's `PRAGMA synchronous` (2 = FULL) and journal mode, for checks and `/readyz`.
    package func durabilitySettings() throws -> (synchronous: Int, journalMode: String) {
        try database.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1,
             try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "")
        }
    }

    /// Writes (and fsyncs) one small row: whether the outbox takes a write right now (`/readyz`).
    package func probeWrite(at now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS readiness_probe (id INTEGER PRIMARY KEY CHECK (id = 1), written_at REAL NOT NULL)")
            try db.execute(sql: "INSERT INTO readiness_probe (id, written_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at",
                           arguments: [now.timeIntervalSince1970])
        }
    }

    /// Test hook (`@_spi(Testing) import RelayOutbox`). Fault injection: with `true`, every write fails as on a read-only volume (`PRAGMA query_only`).
    @_spi(Testing) public func setReadOnly(_ readOnly: Bool) throws {
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA query_only = \(readOnly ? 1 : 0)")
        }
    }

    /// Test hook (`@_spi(Testing) import RelayOutbox`). Fault injection: caps the file size in pages so writes fail as on a full disk.
    @_spi(Testing) public func limitPageCount(_ pages: Int) throws {
        try database.writeWithoutTransaction { db in
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)")
        }
    }
}

package struct OutboxOpenError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
