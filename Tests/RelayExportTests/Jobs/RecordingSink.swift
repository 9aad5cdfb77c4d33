// A sink for export tests: keeps every record and framing event it confirms, fails on demand.
import Foundation
import RelayCore
import RelayDelivery
import Synchronization

final class RecordingSink: Sink {
    typealias Behavior = @Sendable (DeliveryItem) -> DeliveryOutcome

    let maxBatchSize = 500
    let maxConcurrentBatches = 2
    private let behavior: Mutex<Behavior>
    private let items = Mutex<[DeliveryItem]>([])

    init(behavior: @escaping Behavior = { _ in .delivered }) {
        self.behavior = Mutex(behavior)
    }

    func setBehavior(_ behavior: @escaping Behavior) { self.behavior.withLock { $0 = behavior } }

    func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome] {
        let behavior = self.behavior.withLock { $0 }
        let outcomes = batch.map(behavior)
        items.withLock { log in
            for (item, outcome) in zip(batch, outcomes) where outcome == .delivered { log.append(item) }
        }
        return outcomes
    }

    func shutdown() async {}

    /// Everything confirmed, in order.
    var delivered: [DeliveryItem] { items.withLock { $0 } }
    /// Confirmed records (not framing events).
    var records: [DeliveryItem] { delivered.filter { $0.eventType.hasSuffix(".record") } }
    var framing: [DeliveryItem] { delivered.filter { !$0.eventType.hasSuffix(".record") } }

    func header(_ name: String, of item: DeliveryItem) -> String? {
        item.headers.first { $0.name == name }?.value
    }
}
