// One writer thread that commits every append waiting at that moment in one transaction and one fsync.
import Foundation
import GRDB
import RelayCore
import Synchronization

/// How appends are committed: grouped (production) or one transaction per request (the benchmark's baseline).
package enum CommitMode: String, Sendable {
    case grouped
    case perRequest = "per-request"
}

final class GroupCommitWriter: @unchecked Sendable {
    // @unchecked: `queue`, `stopped` are only touched under `condition`'s lock.
    private struct Pending {
        var event: NewEvent
        var continuation: CheckedContinuation<AppendResult, any Error>
    }

    private let database: DatabasePool
    private let mode: CommitMode
    private let commits: CommitSignal
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var stopped = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Largest number of appends one commit carried (observability and tests).
    let largestGroup = Atomic<Int>(0)
    /// Under a steady trickle (the last commit ended less than `trickleWindow` ago) a commit of fewer
    /// than `fullGroup` appends waits up to `commitLinger` for more: at 2,000 requests/s that is one
    /// fsync per ~10 requests instead of one each. Under load the queue is never that short, so
    /// nothing waits; after a quiet spell the first append is committed at once. 5 ms rather than 2:
    /// at 2,000 requests/s it took the relay from 0.55-0.57 to 0.48-0.50 cores (fewer commits, fsyncs
    /// and wake-ups of the writer and the dispatcher) for ~3 ms more on the answer.
    static let commitLinger: TimeInterval = 0.005
    static let trickleWindow: Duration = .milliseconds(10)
    static let fullGroup = 16
    /// Monotonic, so a wall-clock step cannot make a quiet spell look like a trickle (nil before the first commit).
    private var lastCommitEnded: ContinuousClock.Instant?
    /// The writer waits out `commitLinger` (under the lock): an append wakes it only once the group is full.
    private var lingering = false
    /// The last commit's failure, when it failed (cleared by the next commit that works).
    let lastFailure = Mutex<(at: ContinuousClock.Instant, reason: String)?>(nil)

    init(database: DatabasePool, mode: CommitMode, commits: CommitSignal) {
        self.database = database
        self.mode = mode
        self.commits = commits
        // The thread keeps the writer alive until `stop()` (SQLiteOutbox calls it on close and in deinit).
        let thread = Thread { self.run() }
        thread.name = "outbox-writer"
        self.thread = thread
        thread.start()
    }

    func append(_ event: NewEvent) async throws(StoreUnavailable) -> AppendResult {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                if stopped {
                    condition.unlock()
                    continuation.resume(throwing: StoreUnavailable(reason: "the outbox is shutting down"))
                    return
                }
                queue.append(Pending(event: event, continuation: continuation))
                if !lingering || queue.count >= Self.fullGroup { condition.signal() }
                condition.unlock()
            }
        } catch let error as StoreUnavailable {
            throw error
        } catch {
            throw StoreUnavailable(reason: "\(error)")
        }
    }

    /// Commits what is queued, then stops the thread; later appends fail with 503.
    func stop() {
        condition.lock()
        let wasStopped = stopped
        stopped = true
        condition.signal()
        condition.unlock()
        if !wasStopped { finished.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if queue.isEmpty && stopped {
                condition.unlock()
                finished.signal()
                return
            }
            if mode == .grouped, !stopped, queue.count < Self.fullGroup,
               let last = lastCommitEnded, ContinuousClock.now - last < Self.trickleWindow {
                let deadline = Date(timeIntervalSinceNow: Self.commitLinger)
                lingering = true
                while queue.count < Self.fullGroup && !stopped && condition.wait(until: deadline) {}
                lingering = false
            }
            let batch: [Pending]
            switch mode {
            case .grouped:
                batch = queue
                queue.removeAll(keepingCapacity: true)
            case .perRequest:
                batch = [queue.removeFirst()]
            }
            condition.unlock()
            commit(batch)
            lastCommitEnded = ContinuousClock.now
        }
    }

    private func commit(_ batch: [Pending]) {
        if batch.count > largestGroup.load(ordering: .relaxed) { largestGroup.store(batch.count, ordering: .relaxed) }
        do {
            let results = try database.writeWithoutTransaction { db in
                // The dispatcher's outcome records run without fsync on this same connection; an append
                // is acknowledged only after a synced commit, whatever ran before it.
                try db.execute(sql: "PRAGMA synchronous = FULL")
                var results: [AppendResult] = []
                try db.inTransaction {
                    results = try batch.map { try EventInsert.insert($0.event, into: db) }
                    return .commit
                }
                return results
            }
            var work = CommittedWork()
            for (pending, result) in zip(batch, results) where !result.duplicate {
                for delivery in pending.event.deliveries { work.destinations.insert(delivery.destination) }
                if pending.event.export != nil { work.exportJobs = true }
            }
            // Announced before the callers hear back, so a delivery never waits for the next idle tick.
            commits.announce(work)
            lastFailure.withLock { $0 = nil }
            for (pending, result) in zip(batch, results) { pending.continuation.resume(returning: result) }
        } catch {
            let failure = StoreUnavailable(reason: Self.describe(error))
            lastFailure.withLock { $0 = (ContinuousClock.now, failure.reason) }
            for pending in batch { pending.continuation.resume(throwing: failure) }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError {
            return "outbox write failed: \(db.message ?? "SQLite error \(db.resultCode.rawValue)")"
        }
        return "outbox write failed: \(error)"
    }
}
