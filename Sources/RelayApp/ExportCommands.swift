// `audience-relay export status [executionRef]` and `export retry executionRef`: export jobs in a data
// directory, how far each got, and running a dead one again.
import Foundation
import RelayCore
import RelayOutbox

package enum ExportCommands {
    package static func status(dataDirectory: String, executionRef: String?, limit: Int) async throws -> String {
        let outbox = try OutboxCommands.open(dataDirectory)
        defer { outbox.close() }
        let jobs = try await OutboxAdministration(outbox: outbox).exportJobs(executionRef: executionRef, limit: limit)
        if jobs.isEmpty { return "no export jobs" + (executionRef.map { " for executionRef \($0)" } ?? "") + " in \(dataDirectory)" }
        if executionRef != nil { return jobs.map(describe).joined(separator: "\n\n") }
        var lines = [OutboxCommands.pad(["EXECUTION REF", "STATE", "FILES", "RECORDS", "MALFORMED", "DEAD", "ATTEMPTS", "LAST ERROR"])]
        for job in jobs {
            lines.append(OutboxCommands.pad([
                job.executionRef.rawValue, job.state.name, files(job.progress), "\(job.progress.recordsSent)",
                "\(job.progress.recordsMalformed)", "\(job.progress.recordsDead)", "\(job.attempts)", job.lastError ?? "-",
            ]))
        }
        return lines.joined(separator: "\n")
    }

    /// Runs the dead export jobs of `executionRef` again from their checkpoint (a running relay picks
    /// them up within its next poll of the outbox, 30 s at most; the admin API's retry at once).
    package static func retry(dataDirectory: String, executionRef: String) async throws -> (message: String, ok: Bool) {
        let outbox = try OutboxCommands.open(dataDirectory)
        defer { outbox.close() }
        let count = try await OutboxAdministration(outbox: outbox).retryExport(executionRef: executionRef)
        if count == 0 { return ("no dead export job for executionRef \(executionRef)", false) }
        return ("export \(executionRef) re-queued from its checkpoint", true)
    }

    private static func files(_ progress: ExportProgress) -> String {
        "\(progress.files.count)/\(progress.fileCount.map(String.init) ?? "?")"
    }

    /// Everything about one job: where it is, what it fetched, why it stopped.
    private static func describe(_ job: ExportJob) -> String {
        let p = job.progress
        var lines = [
            "executionRef  \(job.executionRef)",
            "event         \(job.eventID) (source \(job.source), route \(job.route))",
            "state         \(job.state.name)" + (job.state == .pending ? ", next attempt \(job.nextAttemptAt)" : ""),
            "apiUrl        \(job.apiURL.split(separator: "?", maxSplits: 1).first.map(String.init) ?? job.apiURL)",
            "destinations  \(job.destinations.joined(separator: ", "))",
            "files         \(files(p)) done; checkpoint file \(p.fileIndex) record \(p.recordIndex)",
            "records       \(p.recordsSent) forwarded, \(p.recordsMalformed) malformed, \(p.recordsDead) dead",
            "bytes         \(p.bytesReceived) received",
            "attempts      \(job.attempts)",
            "created       \(job.createdAt)" + (job.finishedAt.map { ", finished \($0)" } ?? ""),
        ]
        if let error = job.lastError { lines.append("last error    \(error)") }
        for (index, file) in p.files.enumerated() {
            lines.append("  file \(index): \(file.url)\(file.change.map { " [\($0)]" } ?? "") \(file.records) records, \(file.bytes) bytes, sha256 \(file.sha256)")
        }
        return lines.joined(separator: "\n")
    }
}
