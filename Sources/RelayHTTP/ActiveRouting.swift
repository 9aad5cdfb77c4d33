// The routing table the listener serves with, swappable atomically (hot reload replaces it whole).
import RelayCore
import Synchronization

/// A routing table together with each source's auth, secrets already read.
package struct RoutingSnapshot: Sendable {
    package var table: RoutingTable
    package var auth: [String: ResolvedAuth]
    package var loadedFrom: String

    package init(table: RoutingTable, auth: [String: ResolvedAuth], loadedFrom: String) {
        self.table = table
        self.auth = auth
        self.loadedFrom = loadedFrom
    }
}

package final class ActiveRouting: Sendable {
    private let current: Mutex<RoutingSnapshot>

    package init(_ snapshot: RoutingSnapshot) {
        current = Mutex(snapshot)
    }

    package var snapshot: RoutingSnapshot {
        current.withLock { $0 }
    }

    package func replace(with snapshot: RoutingSnapshot) {
        current.withLock { $0 = snapshot }
    }
}
