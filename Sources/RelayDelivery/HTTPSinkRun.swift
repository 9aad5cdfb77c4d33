// HTTPSinkRun: the outcomes and breaker tickets of one batch while the client's worker thread sends it.
import RelayCore
import RelayCurl

/// One `deliver` call's state. Threading: filled by the calling task before the batch is handed to the
/// client, then only by the client's worker thread (through the batch handlers), then read by the calling
/// task after `executeBatch` returned; the client's queue and the batch continuation order these.
final class HTTPSinkRun: @unchecked Sendable {
    let items: [DeliveryItem]
    private(set) var outcomes: [DeliveryOutcome]
    private var settled: [Bool]
    var tickets: [CircuitBreaker.Ticket?]
    /// The request of each item not settled before sending (built once a slot was free, so that its
    /// `webhook-timestamp` is at most one batch old when it goes out).
    private(set) var requests: [HTTPRequestSpec?] = []

    init(items: [DeliveryItem]) {
        self.items = items
        // What an item keeps when it never started: the batch was cancelled or the client stopped first.
        outcomes = Array(repeating: .notSent(after: nil, reason: "not sent: cancelled or shut down before its turn"), count: items.count)
        settled = Array(repeating: false, count: items.count)
        tickets = Array(repeating: nil, count: items.count)
    }

    func isSettled(_ index: Int) -> Bool { settled[index] }

    func prepare(_ build: (DeliveryItem) -> HTTPRequestSpec) {
        requests = items.indices.map { settled[$0] ? nil : build(items[$0]) }
    }

    func settle(_ index: Int, _ outcome: DeliveryOutcome) {
        outcomes[index] = outcome
        settled[index] = true
    }
}
