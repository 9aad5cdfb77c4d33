// The bodies of the `export.started`, `export.completed` and `export.failed` events that frame an export's records.
import Foundation
import RelayCore
import RelayOutbox

enum ExportFraming {
    static func started(job: ExportJob, files: [ExportManifest.File]) -> [UInt8] {
        encode(Frame("export.started", job, Started(
            apiUrl: ExportURLs.redacted(job.apiURL), fileCount: files.count,
            files: files.map { FileEntry(url: ExportURLs.redacted($0.url), change: $0.change) })))
    }

    static func completed(job: ExportJob, progress: ExportProgress) -> [UInt8] {
        encode(Frame("export.completed", job, Completed(
            fileCount: progress.files.count, sha256: overallDigest(progress.files), totals: Totals(progress))))
    }

    static func failed(job: ExportJob, progress: ExportProgress, reason: String, upstreamStatus: Int?) -> [UInt8] {
        encode(Frame("export.failed", job, Failed(
            reason: reason, upstreamStatus: upstreamStatus, fileCount: progress.fileCount, totals: Totals(progress))))
    }

    /// What every framing event carries: its type and the notification it frames, then `details`'
    /// own keys at the same level.
    private struct Frame<Details: Encodable>: Encodable {
        var type: String
        var job: ExportJob
        var details: Details

        init(_ type: String, _ job: ExportJob, _ details: Details) {
            self.type = type
            self.job = job
            self.details = details
        }

        private enum CodingKeys: String, CodingKey { case type, executionRef, eventId, source }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(job.executionRef.rawValue, forKey: .executionRef)
            try container.encode(job.eventID.rawValue, forKey: .eventId)
            try container.encode(job.source, forKey: .source)
            try details.encode(to: encoder)
        }
    }

    private struct Started: Encodable {
        var apiUrl: String
        var fileCount: Int
        var files: [FileEntry]
    }

    private struct FileEntry: Encodable {
        var url: String
        var change: String?
    }

    private struct Completed: Encodable {
        var fileCount: Int
        /// SHA-256 of the bytes received for a one-file export; with several files, SHA-256 of
        /// their hex digests, one per line in file order (each file's own digest is in `files`).
        var sha256: String
        var totals: Totals

        private enum CodingKeys: String, CodingKey { case fileCount, sha256 }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(fileCount, forKey: .fileCount)
            try container.encode(sha256, forKey: .sha256)
            try totals.encode(to: encoder)
        }
    }

    /// Sent instead of `export.completed` when the job is dead-lettered: why, and how far it got.
    private struct Failed: Encodable {
        var reason: String
        /// The export host's (or token endpoint's) HTTP status behind the failure, if one was.
        var upstreamStatus: Int?
        var fileCount: Int?
        var totals: Totals

        private enum CodingKeys: String, CodingKey { case reason, upstreamStatus, fileCount }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(reason, forKey: .reason)
            try container.encodeIfPresent(upstreamStatus, forKey: .upstreamStatus)
            try container.encodeIfPresent(fileCount, forKey: .fileCount)
            try totals.encode(to: encoder)
        }
    }

    /// How far a job got, in `export.completed` and `export.failed` alike: records confirmed by
    /// every destination so far (a replayed job resumes after them), and the files' bytes and digests.
    private struct Totals: Encodable {
        var recordCount: Int64
        var recordsMalformed: Int64
        var recordsDead: Int64
        var bytes: Int64
        var files: [ExportFileSummary]

        init(_ progress: ExportProgress) {
            recordCount = progress.recordsSent
            recordsMalformed = progress.recordsMalformed
            recordsDead = progress.recordsDead
            bytes = progress.bytesReceived
            files = progress.files
        }
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
