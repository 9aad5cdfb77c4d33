// The export fetcher's contract with the outbox: claim due export jobs, checkpoint their progress, finish them.
import Foundation
import RelayCore

/// Where a job is in its life. Running is a fetcher-memory state: after a crash a job is pending
/// again and resumes from its checkpoint.
package enum ExportJobState: Int, Sendable {
    case pending = 0
    case done = 2
    case dead = 3

    package var name: String {
        switch self {
        case .pending: return "pending"
        case .done: return "done"
        case .dead: return "dead"
        }
    }
}

/// One fully forwarded file of an export (kept for `export status` and `export.completed`).
package struct ExportFileSummary: Sendable, Codable, Equatable {
    /// The file's URL with its query string left out (pre-signed URLs carry credentials there).
    package var url: String
    /// `added` or `removed` for the parts of a delta export, else nil.
    package var change: String?
    package var records: Int64
    package var bytes: Int64
    /// Hex SHA-256 of the bytes as received (before gunzip).
    package var sha256: String

    package init(url: String, change: String?, records: Int64, bytes: Int64, sha256: String) {
        self.url = url
        self.change = change
        self.records = records
        self.bytes = bytes
        self.sha256 = sha256
    }
}

/// What is confirmed downstream so far; a resumed job skips exactly this much.
package struct ExportProgress: Sendable, Equatable {
    /// Index of the file being forwarded (= number of files finished).
    package var fileIndex: Int = 0
    /// Records of that file confirmed by every destination (the next record index to send).
    package var recordIndex: Int64 = 0
    /// Files listed by the manifest (1 without one); nil until known.
    package var fileCount: Int?
    package var files: [ExportFileSummary] = []
    /// Records confirmed by every destination (or dead-lettered by one), over all files.
    package var recordsSent: Int64 = 0
    package var recordsMalformed: Int64 = 0
    /// Records a destination refused for good (counted, reason in the job's last error).
    package var recordsDead: Int64 = 0
    package var bytesReceived: Int64 = 0

    package init() {}
}

/// An export job as stored, with what the fetcher needs from its event.
package struct ExportJob: Sendable {
    package var eventID: EventID
    package var source: String
    package var route: String
    package var destinations: [String]
    package var executionRef: ExecutionRef
    package var apiURL: String
    package var eventType: String
    package var receivedAt: Date
    package var state: ExportJobState
    /// Failed attempts so far (polls that found the export not ready count too).
    package var attempts: Int
    package var nextAttemptAt: Date
    package var createdAt: Date
    package var updatedAt: Date
    package var finishedAt: Date?
    package var lastError: String?
    package var progress: ExportProgress

    package init(eventID: EventID, source: String, route: String, destinations: [String], executionRef: ExecutionRef,
                apiURL: String, eventType: String, receivedAt: Date, state: ExportJobState, attempts: Int,
                nextAttemptAt: Date, createdAt: Date, updatedAt: Date, finishedAt: Date?, lastError: String?,
                progress: ExportProgress) {
        self.eventID = eventID
        self.source = source
        self.route = route
        self.destinations = destinations
        self.executionRef = executionRef
        self.apiURL = apiURL
        self.eventType = eventType
        self.receivedAt = receivedAt
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.lastError = lastError
        self.progress = progress
    }
}

/// Durable export jobs (rows written with their event by `EventStore.append`).
package protocol ExportJobQueue: Sendable {
    /// Pending jobs due at `now`, oldest first, leaving out `excluding` (those already running).
    func dueExportJobs(now: Date, limit: Int, excluding: Set<EventID>) async throws -> [ExportJob]
    /// When the earliest pending job not in `excluding` is due, or nil when there is none.
    func nextExportJobDue(excluding: Set<EventID>) async throws -> Date?
    /// Checkpoints what every destination has confirmed.
    func saveExportProgress(eventID: EventID, progress: ExportProgress, at now: Date) async throws
    /// Puts a job back to pending until `next`, counting a failed attempt (or a not-ready poll).
    func rescheduleExportJob(eventID: EventID, next: Date, error: String?, progress: ExportProgress, at now: Date) async throws
    /// Ends a job: `.done` when everything was forwarded, `.dead` with the reason otherwise.
    func finishExportJob(eventID: EventID, state: ExportJobState, error: String?, progress: ExportProgress, at now: Date) async throws
    /// Jobs for `executionRef` (all jobs when nil), newest first.
    func exportJobs(executionRef: String?, limit: Int) async throws -> [ExportJob]
    /// Makes the dead jobs of `executionRef` pending again, due now, from their checkpoint, with a fresh
    /// attempt budget (their retry window counts from now). Returns how many were re-queued.
    func retryExportJobs(executionRef: String, at now: Date) async throws -> Int
}
