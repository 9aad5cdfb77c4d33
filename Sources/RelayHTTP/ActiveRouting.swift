// The routing table the listener serves with, swappable atomically (hot reload replaces it whole).
import RelayCore
import Synchronization

/// A routing table together with each source's auth, secrets already read.
public struct RoutingSnapshot: Sendable {
    public var table: RoutingTable
    public var auth: [String: ResolvedAuth]
    public var loadedFrom: String

    public init(table: RoutingTable, auth: [String: ResolvedAuth], loadedFrom: String) {
        self.table = table
        self.auth = auth
        self.loadedFrom = loadedFrom
    }
}

public final class ActiveRouting: Sendable {
    private let current: Mutex<RoutingSnapshot>

    public init(_ snapshot: RoutingSnapshot) {
        current = Mutex(snapshot)
    }

    public var snapshot: RoutingSnapshot {
        current.withLock { $0 }
    }

    public func replace(with snapshot: RoutingSnapshot) {
        current.withLock { $0 = snapshot }
    }
}
