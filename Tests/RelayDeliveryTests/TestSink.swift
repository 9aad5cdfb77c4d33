// A sink for dispatcher tests: records every attempt, and delivers, delays or fails as each test says.
import Foundation
import RelayCore
import RelayDelivery
import Synchronization

final class TestSink: Sink {
    typealias Behavior = @Sendable (DeliveryItem) async -> DeliveryOutcome

    struct Attempt: Sendable {
        var item: DeliveryItem
        var at: Date
        var outcome: DeliveryOutcome
    }

    private let behavior: Mutex<Behavior>
    private let log = Mutex<[Attempt]>([])
    let maxBatchSize: Int
    let maxConcurrentBatches: Int
    let keepsSubmissionOrder: Bool
    let clock: ManualClock?
    private let batches = Mutex<[[DeliveryItem]]>([])

    /// With `keepsSubmissionOrder`, the sink behaves like Kafka's idempotent producer: batches are taken in
    /// the order `deliver` was called and worked through one after another, and once an item of a key
    /// fails, every item of that key handed over until then (in this batch or in later ones) fails too.
    init(maxBatchSize: Int = 100, maxConcurrentBatches: Int = 2, keepsSubmissionOrder: Bool = false, clock: ManualClock? = nil,
         behavior: @escaping Behavior = { _ in .delivered }) {
        self.keepsSubmissionOrder = keepsSubmissionOrder
        self.behavior = Mutex(behavior)
        self.maxBatchSize = maxBatchSize
        self.maxConcurrentBatches = maxConcurrentBatches
        self.clock = clock
    }

    func setBehavior(_ behavior: @escaping Behavior) { self.behavior.withLock { $0 = behavior } }

    func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome] {
        let behavior = self.behavior.withLock { $0 }
        // Taken before the first suspension: this is the order the dispatcher handed the batches over.
        let turn = turns.take()
        let ticket = order.withLock { order in
            defer { order.submitted += 1 }
            return order.submitted
        }
        batches.withLock { $0.append(batch) }
        if keepsSubmissionOrder { await turns.wait(for: turn) }
        var outcomes: [DeliveryOutcome] = []
        for item in batch {
            var outcome = await behavior(item)
            if keepsSubmissionOrder, let key = item.key {
                order.withLock { order in
                    if let limit = order.failedBefore[key], ticket < limit { outcome = .retry(after: nil, reason: "an earlier message of the key failed") }
                    if outcome != .delivered { order.failedBefore[key] = order.submitted }
                }
            }
            log.withLock { $0.append(Attempt(item: item, at: clock?.current ?? Date(), outcome: outcome)) }
            outcomes.append(outcome)
        }
        if keepsSubmissionOrder { turns.finish(turn) }
        return outcomes
    }

    private struct Order {
        var submitted = 0
        /// Items of the key in batches with a ticket below this fail (an earlier item of the key failed).
        var failedBefore: [String: Int] = [:]
    }
    private let order = Mutex(Order())
    private let turns = TurnSequencer()

    func shutdown() async {}

    var attempts: [Attempt] { log.withLock { $0 } }
    var batchesSeen: [[DeliveryItem]] { batches.withLock { $0 } }
    var delivered: [DeliveryItem] { attempts.filter { $0.outcome == .delivered }.map(\.item) }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Date>
    init(_ start: Date = Date()) { now = Mutex(start) }
    func advance(by seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var current: Date { now.withLock { $0 } }
}

/// Holds every caller of `pass()` until `open()`; afterwards everyone passes at once.
final class Gate: Sendable {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func pass() async {
        await withCheckedContinuation { continuation in
            let passNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if passNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var waiting: Int { state.withLock { $0.waiters.count } }
}
