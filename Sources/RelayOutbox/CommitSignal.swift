// The outbox announces what it committed; the dispatcher and the export runner subscribe (data flows downhill).
import Synchronization

/// What one commit (a group of appends, a replay, an export retry) made pending.
package struct CommittedWork: Sendable, Equatable {
    /// Destinations that got new pending deliveries.
    package var destinations: Set<String>
    /// Whether an export job became due.
    package var exportJobs: Bool

    package init(destinations: Set<String> = [], exportJobs: Bool = false) {
        self.destinations = destinations
        self.exportJobs = exportJobs
    }

    package var isEmpty: Bool { destinations.isEmpty && !exportJobs }
}

/// Subscribers hear about each commit once, after it is durable: one call per group commit, not per
/// request, so a burst of requests wakes each subscriber once. Handlers must be quick and must not block
/// (they run on the committing thread): ring a doorbell, nothing more.
package final class CommitSignal: Sendable {
    private let handlers = Mutex<[@Sendable (CommittedWork) -> Void]>([])

    package init() {}

    package func subscribe(_ handler: @escaping @Sendable (CommittedWork) -> Void) {
        handlers.withLock { $0.append(handler) }
    }

    func announce(_ work: CommittedWork) {
        guard !work.isEmpty else { return }
        for handler in handlers.withLock({ $0 }) { handler(work) }
    }
}
