// Sends an export's records to every destination of its job, several batches in flight, confirmed in order.
import Foundation
import RelayCore
import RelayOutbox

/// One destination of a job: its sink and how long to keep retrying a batch there.
struct ExportDestination: Sendable {
    var name: String
    var sink: any Sink
    var policy: DeliveryPolicy
}

/// What one confirmed step of a job moved forward.
struct ExportConfirmation: Sendable {
    var fileIndex: Int
    /// Records in the step and the index of its last one (nil for a file's end).
    var records: Int = 0
    var lastRecordIndex: Int64?
    /// Records a destination refused for good, and the first reason.
    var dead: Int = 0
    var deadReason: String?
    /// Set on the step that closes a file.
    var finishedFile: ExportFileSummary?
}

/// Keeps up to `window` steps in flight (so the download and parsing go on while destinations
/// confirm) and hands back confirmations strictly in submission order, which is what the
/// checkpoint needs: everything before it is confirmed everywhere.
struct InFlightWindow {
    let window: Int
    private var tasks: [Task<ExportConfirmation, any Error>] = []

    init(window: Int) {
        self.window = max(1, window)
    }

    /// Starts `step`; when the window is full, first waits for the oldest step and returns its confirmation.
    mutating func submit(_ step: @escaping @Sendable () async throws(ExportJobFailure) -> ExportConfirmation)
        async throws(ExportJobFailure) -> ExportConfirmation? {
        let confirmed = tasks.count >= window ? try await awaitOldest() : nil
        tasks.append(Task { try await step() })
        return confirmed
    }

    /// The oldest step's confirmation once it is done, nil when nothing is in flight. Callers apply
    /// each before asking for the next, so a later failure never discards earlier confirmations.
    mutating func next() async throws(ExportJobFailure) -> ExportConfirmation? {
        tasks.isEmpty ? nil : try await awaitOldest()
    }

    /// Cancels every step in flight (after a failure, or on shutdown) and waits until they have
    /// stopped, so no step of an ended attempt still sends while the next attempt starts.
    mutating func cancelAndWait() async {
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
        tasks.removeAll()
    }

    private mutating func awaitOldest() async throws(ExportJobFailure) -> ExportConfirmation {
        let task = tasks.removeFirst()
        do {
            return try await withTaskCancellationHandler {
                try await task.value
            } onCancel: {
                task.cancel()
            }
        } catch let failure as ExportJobFailure {
            throw failure
        } catch {
            throw .retry("export step failed: \(error)")
        }
    }
}

enum RecordDelivery {
    /// Sends `records` to every destination at once, retrying each destination's failures in
    /// place (back-off with full jitter, `Retry-After` honoured) up to its `maxAttempts`.
    static func deliver(_ records: [ExportRecord], export: ExportIdentity, forwarding: ExportForwarding,
                        to destinations: [ExportDestination]) async throws(ExportJobFailure) -> (dead: Int, reason: String?) {
        try await forEachDestination(destinations) { destination async throws(ExportJobFailure) -> (Int, String?) in
            try await withRetries(count: records.count, destination: destination, what: "records") { indices in
                let subset = indices.count == records.count ? records : indices.map { records[$0] }
                return await destination.sink.forward(ExportRecordBatch(
                    export: export, records: subset,
                    maxRecordsPerRequest: forwarding.batchRecords, maxBytesPerRequest: forwarding.batchBytes))
            }
        }
    }

    /// Sends one framing event (`started` / `completed`) to every destination; refusing it is fatal to the job.
    static func deliverFraming(kind: String, body: [UInt8], export: ExportIdentity,
                               to destinations: [ExportDestination]) async throws(ExportJobFailure) {
        let (dead, reason) = try await forEachDestination(destinations) { destination async throws(ExportJobFailure) -> (Int, String?) in
            let item = export.framingItem(kind: kind, body: body, destination: destination.name)
            return try await withRetries(count: 1, destination: destination, what: "export.\(kind)") { _ in
                await destination.sink.deliver([item])
            }
        }
        if dead > 0 { throw .dead("export.\(kind) was refused: \(reason ?? "no reason given")") }
    }

    /// Attempts per destination for `export.failed`: the job is dead-lettered either way, so it is not held up long.
    static let failureAttempts = 3

    /// Sends `export.failed` to every destination at once, each with a few attempts (its back-off,
    /// at most 2 s apart). Best effort: returns `destination: problem` for each that did not confirm it.
    static func deliverFailure(body: [UInt8], export: ExportIdentity, to destinations: [ExportDestination]) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for destination in destinations {
                group.addTask {
                    var limited = destination
                    limited.policy.maxAttempts = min(destination.policy.maxAttempts, failureAttempts)
                    limited.policy.maxBackoff = min(destination.policy.maxBackoff, .seconds(2))
                    do throws(ExportJobFailure) {
                        let (dead, reason) = try await withRetries(count: 1, destination: limited, what: "export.failed") { _ in
                            [await destination.sink.deliverExportFailure(export, body: body, destination: destination.name)]
                        }
                        return dead > 0 ? "\(destination.name): refused: \(reason ?? "no reason given")" : nil
                    } catch {
                        return "\(destination.name): \(error.reason)"
                    }
                }
            }
            var problems: [String] = []
            for await problem in group { if let problem { problems.append(problem) } }
            return problems.sorted()
        }
    }

    private static func forEachDestination(
        _ destinations: [ExportDestination],
        _ body: @escaping @Sendable (ExportDestination) async throws(ExportJobFailure) -> (Int, String?)
    ) async throws(ExportJobFailure) -> (dead: Int, reason: String?) {
        if destinations.count == 1 { return try await body(destinations[0]) }
        let results = await withTaskGroup(of: Result<(Int, String?), ExportJobFailure>.self) { group in
            for destination in destinations {
                group.addTask {
                    do throws(ExportJobFailure) { return .success(try await body(destination)) } catch { return .failure(error) }
                }
            }
            var results: [Result<(Int, String?), ExportJobFailure>] = []
            for await result in group { results.append(result) }
            return results
        }
        var dead = 0
        var reason: String?
        for result in results {
            switch result {
            case .success(let (count, why)):
                dead += count
                if reason == nil { reason = why }
            case .failure(let failure):
                throw failure
            }
        }
        return (dead, reason)
    }

    /// Calls `send` with the indices still to deliver until none is left to retry. The retried
    /// ones share one verdict per attempt (the longest `Retry-After` among them, the last reason),
    /// measured from the first attempt; giving up fails the job's attempt, not the records.
    private static func withRetries(
        count: Int, destination: ExportDestination, what: String,
        _ send: ([Int]) async -> [DeliveryOutcome]
    ) async throws(ExportJobFailure) -> (Int, String?) {
        let policy = RetryPolicy(destination.policy)
        let started = Date()
        var pending = Array(0..<count)
        var dead = 0
        var deadReason: String?
        var attempt = 1
        while true {
            let outcomes = await send(pending)
            var again: [Int] = []
            var hint: Duration?
            var lastReason = "the sink returned no outcome"
            // Only a round in which something was actually sent uses up an attempt.
            var tried = outcomes.count < pending.count
            // A sink that answers fewer outcomes than items leaves the rest to be sent again.
            let answered = min(outcomes.count, pending.count)
            again.append(contentsOf: pending[answered...])
            for (index, outcome) in zip(pending, outcomes) {
                switch outcome {
                case .delivered:
                    continue
                case .dead(let reason):
                    dead += 1
                    if deadReason == nil { deadReason = "\(destination.name): \(reason)" }
                case .retry(let after, let reason), .notSent(let after, let reason):
                    again.append(index)
                    lastReason = reason
                    if let after { hint = max(hint ?? .zero, after) }
                }
                tried = tried || outcome.countsAsAttempt
            }
            if again.isEmpty { return (dead, deadReason) }
            if Task.isCancelled { throw .retry("cancelled while \(destination.name) was retrying \(what)") }
            let now = Date()
            let failure: DeliveryOutcome = tried ? .retry(after: hint, reason: lastReason) : .notSent(after: hint, reason: lastReason)
            switch policy.verdict(on: failure, attempt: attempt, createdAt: started, now: now) {
            case .retry(let at, _):
                do {
                    try await Task.sleep(for: .seconds(max(0, at.timeIntervalSince(now))))
                } catch {
                    throw .retry("cancelled while \(destination.name) was retrying \(what)")
                }
            case .gaveUp(let reason), .refused(let reason):
                throw .retry("destination \(destination.name) still failing \(again.count) \(what): \(reason)")
            case .delivered:
                return (dead, deadReason)  // not a verdict on a failure
            }
            if tried { attempt += 1 }
            pending = again
        }
    }
}
