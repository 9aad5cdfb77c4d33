// SQLiteOutbox as the export fetcher's ExportJobQueue.
import Foundation
import GRDB
import RelayCore

extension SQLiteOutbox: ExportJobQueue {
    package func dueExportJobs(now: Date, limit: Int, excluding: Set<EventID>) async throws -> [ExportJob] {
        try await database.read { db in
            try Row.fetchAll(db, sql: Self.jobSelect + " WHERE j.state = 0 AND j.next_attempt_at <= ? ORDER BY j.next_attempt_at LIMIT ?",
                             arguments: [now.timeIntervalSince1970, limit + excluding.count])
                .map(Self.job(from:))
                .filter { !excluding.contains($0.eventID) }
                .prefix(limit)
                .map { $0 }
        }
    }

    package func nextExportJobDue(excluding: Set<EventID>) async throws -> Date? {
        try await database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT event_id, next_attempt_at FROM export_jobs WHERE state = 0 ORDER BY next_attempt_at LIMIT ?",
                                        arguments: [excluding.count + 1])
            return rows.first { !excluding.contains(EventID(stored: $0["event_id"])) }.map { Date(timeIntervalSince1970: $0["next_attempt_at"]) }
        }
    }

    package func saveExportProgress(eventID: EventID, progress: ExportProgress, at now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE export_jobs SET \(Self.progressAssignments), updated_at = ? WHERE event_id = ?",
                           arguments: Self.progressArguments(progress) + [now.timeIntervalSince1970, eventID.rawValue])
        }
    }

    package func rescheduleExportJob(eventID: EventID, next: Date, error: String?, progress: ExportProgress, at now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: """
                UPDATE export_jobs SET \(Self.progressAssignments), attempts = attempts + 1, next_attempt_at = ?,
                       last_error = ?, updated_at = ? WHERE event_id = ?
                """, arguments: Self.progressArguments(progress) + [next.timeIntervalSince1970, error, now.timeIntervalSince1970, eventID.rawValue])
        }
    }

    package func finishExportJob(eventID: EventID, state: ExportJobState, error: String?, progress: ExportProgress, at now: Date) async throws {
        try await database.write { db in
            try db.execute(sql: """
                UPDATE export_jobs SET \(Self.progressAssignments), state = ?, last_error = ?, finished_at = ?, updated_at = ?
                WHERE event_id = ?
                """, arguments: Self.progressArguments(progress) + [state.rawValue, error, now.timeIntervalSince1970,
                                                                   now.timeIntervalSince1970, eventID.rawValue])
        }
    }

    package func retryExportJobs(executionRef: String, at now: Date) async throws -> Int {
        let stamp = now.timeIntervalSince1970
        let count = try await database.write { db in
            try db.execute(sql: """
                UPDATE export_jobs SET state = 0, attempts = 0, created_at = ?, next_attempt_at = ?, finished_at = NULL, updated_at = ?
                WHERE execution_ref = ? AND state = 3
                """, arguments: [stamp, stamp, stamp, executionRef])
            return db.changesCount
        }
        if count > 0 { commits.announce(CommittedWork(exportJobs: true)) }
        return count
    }

    package func exportJobs(executionRef: String?, limit: Int) async throws -> [ExportJob] {
        try await database.read { db in
            if let executionRef {
                return try Row.fetchAll(db, sql: Self.jobSelect + " WHERE j.execution_ref = ? ORDER BY j.created_at DESC LIMIT ?",
                                        arguments: [executionRef, limit]).map(Self.job(from:))
            }
            return try Row.fetchAll(db, sql: Self.jobSelect + " ORDER BY j.created_at DESC LIMIT ?", arguments: [limit]).map(Self.job(from:))
        }
    }

    // MARK: - Rows

    private static let jobSelect = """
        SELECT j.event_id, j.source, j.route, j.destinations, j.execution_ref, j.api_url, e.type, e.received_at,
               j.state, j.attempts, j.next_attempt_at, j.created_at, j.updated_at, j.finished_at, j.last_error,
               j.checkpoint_file, j.checkpoint_record, j.file_count, j.files, j.records_sent, j.records_malformed,
               j.records_dead, j.bytes_received
        FROM export_jobs j JOIN events e ON e.id = j.event_id
        """

    private static let progressAssignments = """
        checkpoint_file = ?, checkpoint_record = ?, file_count = ?, files = ?, records_sent = ?,
        records_malformed = ?, records_dead = ?, bytes_received = ?
        """

    private static func progressArguments(_ p: ExportProgress) -> StatementArguments {
        let files = (try? JSONEncoder().encode(p.files)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [p.fileIndex, p.recordIndex, p.fileCount, files, p.recordsSent, p.recordsMalformed, p.recordsDead, p.bytesReceived]
    }

    private static func job(from row: Row) -> ExportJob {
        var progress = ExportProgress()
        progress.fileIndex = row["checkpoint_file"]
        progress.recordIndex = row["checkpoint_record"]
        progress.fileCount = row["file_count"]
        let files: String = row["files"]
        progress.files = (try? JSONDecoder().decode([ExportFileSummary].self, from: Data(files.utf8))) ?? []
        progress.recordsSent = row["records_sent"]
        progress.recordsMalformed = row["records_malformed"]
        progress.recordsDead = row["records_dead"]
        progress.bytesReceived = row["bytes_received"]
        let finished: Double? = row["finished_at"]
        return ExportJob(
            eventID: EventID(stored: row["event_id"]), source: row["source"], route: row["route"],
            destinations: ExportJobColumns.decode(row["destinations"]), executionRef: ExecutionRef(stored: row["execution_ref"]),
            apiURL: row["api_url"], eventType: row["type"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
            state: ExportJobState(rawValue: row["state"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: Date(timeIntervalSince1970: row["next_attempt_at"]),
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            finishedAt: finished.map(Date.init(timeIntervalSince1970:)), lastError: row["last_error"], progress: progress)
    }
}

/// The destinations column: a JSON array of names.
enum ExportJobColumns {
    static func encode(_ destinations: [String]) -> String {
        (try? JSONEncoder().encode(destinations)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decode(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}

extension SQLiteOutbox {
    /// How many export jobs are in each state (statistics for operators).
    package func exportJobCounts() async throws -> [ExportJobState: Int] {
        try await database.read { db in
            var counts: [ExportJobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM export_jobs GROUP BY state") {
                if let state = ExportJobState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }
}
