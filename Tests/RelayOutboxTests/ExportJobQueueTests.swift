// Export jobs in the SQLite outbox: written with their event, claimed when due, checkpointed, finished, pruned.
import Foundation
import Logging
import RelayCore
import RelayOutbox
import RelayTestSupport
import Testing

@Suite struct ExportJobQueueTests {
    static func export(_ ref: String) -> PlannedExport {
        PlannedExport(route: "exports", destinations: ["k", "h"], executionRef: ExecutionRef(stored: ref), apiURL: "https://api.example.com/e/\(ref)")
    }

    @Test func jobsAreWrittenWithTheirEventAndCarryTheirProgress() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let now = Date()
            let first = OutboxTestSupport.event(destinations: [], export: Self.export("ref-1"), at: now)
            _ = try await outbox.append(first)
            // A duplicate notification records no second job.
            _ = try await outbox.append(OutboxTestSupport.event(dedupe: first.dedupeKey, destinations: [], export: Self.export("ref-1"), at: now))
            _ = try await outbox.append(OutboxTestSupport.event(destinations: ["k"], at: now))

            let due = try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: [])
            #expect(due.map(\.executionRef.rawValue) == ["ref-1"])
            let job = try #require(due.first)
            #expect(job.eventID == first.id && job.destinations == ["k", "h"] && job.route == "exports" && job.source == "s")
            #expect(job.apiURL == "https://api.example.com/e/ref-1" && job.state == .pending && job.attempts == 0)
            #expect(try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: [first.id]).isEmpty)

            var progress = ExportProgress()
            progress.fileCount = 2
            progress.fileIndex = 1
            progress.recordIndex = 42
            progress.recordsSent = 1042
            progress.files = [ExportFileSummary(url: "https://api.example.com/f0?…", change: "added", records: 1000, bytes: 5, sha256: "ab")]
            try await outbox.rescheduleExportJob(eventID: job.eventID, next: now.addingTimeInterval(60), error: "not ready", progress: progress, at: now)
            #expect(try await outbox.dueExportJobs(now: now.addingTimeInterval(1), limit: 10, excluding: []).isEmpty)
            #expect(try await outbox.nextExportJobDue(excluding: [])?.timeIntervalSince1970.rounded() == now.addingTimeInterval(60).timeIntervalSince1970.rounded())
            let rescheduled = try #require(try await outbox.exportJobs(executionRef: "ref-1", limit: 10).first)
            #expect(rescheduled.progress == progress)
            #expect(rescheduled.attempts == 1 && rescheduled.lastError == "not ready")

            try await outbox.finishExportJob(eventID: job.eventID, state: .done, error: nil, progress: progress, at: now)
            #expect(try await outbox.exportJobs(executionRef: nil, limit: 10).first?.state == .done)
            #expect(try await outbox.nextExportJobDue(excluding: []) == nil)
            // Finished jobs and their events go after the retention.
            _ = try await outbox.prune(deliveredBefore: now.addingTimeInterval(1))
            #expect(try await outbox.exportJobs(executionRef: nil, limit: 10).isEmpty)
        }
    }
}
