// The bodies of the `export.started`, `export.completed` and `export.failed` events that frame an export's records.
import Foundation
import RelayCore
import RelayOutbox

enum ExportFraming {
    private struct Started: Encodable {
        var type = "export.started"
        var executionRef: String
        var eventId: String
        var source: String
        var apiUrl: String
        var fileCount: Int
        var files: [FileEntry]
    }

    private struct FileEntry: Encodable {
        var url: String
        var change: String?
    }

    private struct Completed: Encodable {
        var type = "export.completed"
        var executionRef: String
        var eventId: String
        var source: String
        var fileCount: Int
        var recordCount: Int64
        var recordsMalformed: Int64
        var recordsDead: Int64
        var bytes: Int64
        /// SHA-256 of the bytes received for a one-file export; with several files, SHA-256 of
        /// their hex digests, one per line in file order (each file's own digest is in `files`).
        var sha256: String
        var files: [ExportFileSummary]
    }

    /// Sent instead of `export.completed` when the job is dead-lettered: why, and how far it got.
    private struct Failed: Encodable {
        var type = "export.failed"
        var executionRef: String
        var eventId: String
        var source: String
        var reason: String
        /// The export host's (or token endpoint's) HTTP status behind the failure, if one was.
        var upstreamStatus: Int?
        var fileCount: Int?
        /// Confirmed by every destination so far (a replayed job resumes after them).
        var recordCount: Int64
        var recordsMalformed: Int64
        var recordsDead: Int64
        var bytes: Int64
        var files: [ExportFileSummary]
    }

    static func started(job: ExportJob, files: [ExportManifest.File]) -> [UInt8] {
        encode(Started(executionRef: job.executionRef.rawValue, eventId: job.eventID.rawValue, source: job.source,
                       apiUrl: ExportURLs.redacted(job.apiURL), fileCount: files.count,
                       files: files.map { FileEntry(url: ExportURLs.redacted($0.url), change: $0.change) }))
    }

    static func completed(job: ExportJob, progress: ExportProgress) -> [UInt8] {
        encode(Completed(executionRef: job.executionRef.rawValue, eventId: job.eventID.rawValue, source: job.source,
                         fileCount: progress.files.count, recordCount: progress.recordsSent,
                         recordsMalformed: progress.recordsMalformed, recordsDead: progress.recordsDead,
                         bytes: progress.bytesReceived, sha256: overallDigest(progress.files), files: progress.files))
    }

    static func failed(job: ExportJob, progress: ExportProgress, reason: String, upstreamStatus: Int?) -> [UInt8] {
        encode(Failed(executionRef: job.executionRef.rawValue, eventId: job.eventID.rawValue, source: job.source, reason: reason,
                      upstreamStatus: upstreamStatus, fileCount: progress.fileCount, recordCount: progress.recordsSent,
                      recordsMalformed: progress.recordsMalformed, recordsDead: progress.recordsDead,
                      bytes: progress.bytesReceived, files: progress.files))
    }

    static func overallDigest(_ files: [ExportFileSummary]) -> String {
        if files.count == 1 { return files[0].sha256 }
        return SHA256Hex.of(Array(files.map(\.sha256).joined(separator: "\n").utf8))
    }

    private static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { Array($0) } ?? Array("{}".utf8)
    }
}
