// Where a destination's cursor may go: the queued deliveries it loaded, in order, and which are resolved.
import DequeModule

/// A queued delivery is resolved once it was delivered, or once its new state (retrying, dead) is in the
/// records about to be written with the cursor. The cursor may pass every id of the resolved prefix.
struct DeliveryCursor {
    private var loaded = Deque<Int64>()
    private var resolvedOutOfOrder = Set<Int64>()
    /// The highest id whose predecessors (and itself) are all resolved.
    private(set) var candidate: Int64
    /// The highest cursor known to be committed.
    private(set) var committed: Int64

    init(committed: Int64) {
        self.committed = committed
        candidate = committed
    }

    /// Queued deliveries loaded but not yet passed (they hold memory; the worker bounds it).
    var outstanding: Int { loaded.count }
    var needsWrite: Bool { candidate > committed }

    /// Loads arrive in id order.
    mutating func load(_ id: Int64) {
        loaded.append(id)
    }

    mutating func resolve(_ id: Int64) {
        guard loaded.first == id else {
            resolvedOutOfOrder.insert(id)
            return
        }
        loaded.removeFirst()
        candidate = id
        while let next = loaded.first, resolvedOutOfOrder.remove(next) != nil {
            loaded.removeFirst()
            candidate = next
        }
    }

    mutating func commit(_ cursor: Int64) {
        committed = max(committed, cursor)
    }
}
