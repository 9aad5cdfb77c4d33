// What operators do with an outbox — statistics, dead letters, replay, export jobs, export retry — in one
// place: the CLI (`outbox …`, `export …`, on a data directory) and the admin API (on the running relay)
// both call these and only format the answers differently.
import Foundation
import RelayCore
import RelayOutbox

struct OutboxAdministration: Sendable {
    let outbox: SQLiteOutbox

    struct DestinationSummary: Codable, Sendable, Equatable {
        var destination: String
        var pending: Int
        var oldestPendingSeconds: Double?
        var dead: Int
        var delivered: Int
        var paused: Bool
    }

    struct ExportSummary: Codable, Sendable, Equatable {
        var pending: Int
        var done: Int
        var dead: Int
    }

    struct Stats: Codable, Sendable, Equatable {
        var destinations: [DestinationSummary]
        var exports: ExportSummary
    }

    struct ExportJobView: Codable, Sendable, Equatable {
        var executionRef: String
        var eventId: String
        var source: String
        var route: String
        var state: String
        var destinations: [String]
        var attempts: Int
        var nextAttemptAt: Date
        var checkpoint: Checkpoint
        var recordsForwarded: Int64
        var recordsMalformed: Int64
        var recordsDead: Int64
        var bytesReceived: Int64
        var createdAt: Date
        var finishedAt: Date?
        var lastError: String?

        struct Checkpoint: Codable, Sendable, Equatable {
            var file: Int
            var record: Int64
        }
    }

    /// Per destination (those with rows, plus `known` ones without), with the paused ones marked.
    func stats(known: [String] = [], paused: Set<String> = []) async throws -> Stats {
        var byName: [String: DestinationSummary] = [:]
        for s in try await outbox.stats(now: Date()) {
            byName[s.destination] = DestinationSummary(destination: s.destination, pending: s.pending, oldestPendingSeconds: s.oldestPendingAge,
                                                       dead: s.dead, delivered: s.delivered, paused: paused.contains(s.destination))
        }
        for name in known where byName[name] == nil {
            byName[name] = DestinationSummary(destination: name, pending: 0, oldestPendingSeconds: nil, dead: 0, delivered: 0,
                                              paused: paused.contains(name))
        }
        let counts = try await outbox.exportJobCounts()
        return Stats(destinations: byName.values.sorted { $0.destination < $1.destination },
                     exports: ExportSummary(pending: counts[.pending] ?? 0, done: counts[.done] ?? 0, dead: counts[.dead] ?? 0))
    }

    func deadLetters(destination: String?, limit: Int) async throws -> [DeadLetter] {
        try await outbox.deadLetters(destination: destination, limit: limit)
    }

    /// Re-queues dead deliveries by id and/or every dead delivery of a destination; the count.
    func replay(ids: [Int64], destination: String?) async throws -> Int {
        var count = 0
        if !ids.isEmpty { count += try await outbox.replay(deliveryIDs: ids) }
        if let destination { count += try await outbox.replay(destination: destination) }
        return count
    }

    func exportJobs(executionRef: String?, limit: Int) async throws -> [ExportJob] {
        try await outbox.exportJobs(executionRef: executionRef, limit: limit)
    }

    func exportJobViews(executionRef: String?, limit: Int) async throws -> [ExportJobView] {
        try await exportJobs(executionRef: executionRef, limit: limit).map { job in
            let p = job.progress
            return ExportJobView(executionRef: job.executionRef.rawValue, eventId: job.eventID.rawValue, source: job.source, route: job.route,
                                 state: job.state.name, destinations: job.destinations, attempts: job.attempts, nextAttemptAt: job.nextAttemptAt,
                                 checkpoint: .init(file: p.fileIndex, record: p.recordIndex), recordsForwarded: p.recordsSent,
                                 recordsMalformed: p.recordsMalformed, recordsDead: p.recordsDead, bytesReceived: p.bytesReceived,
                                 createdAt: job.createdAt, finishedAt: job.finishedAt, lastError: job.lastError)
        }
    }

    /// Runs the dead export jobs of `executionRef` again from their checkpoint; the count re-queued.
    func retryExport(executionRef: String) async throws -> Int {
        try await outbox.retryExportJobs(executionRef: executionRef, at: Date())
    }
}
