// State shared between a producer's callers and its poll thread: submitted batches, stop request, waiters.
import Dispatch
import Foundation
import Logging
import Synchronization

/// The producer's mutex-guarded hand-over point. Callers submit batches and request the stop;
/// the poll thread takes work, records fatal errors and announces when it has finished.
final class ProducerCore: Sendable {
    private enum Waiter {
        case semaphore(DispatchSemaphore)
        case continuation(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var submitted: [ProducerBatch] = []
        var stopDeadline: ContinuousClock.Instant?
        var finished = false
        var waiters: [Waiter] = []
        /// Woken on new work or stop; nil once the poll thread has let go of librdkafka.
        var wakeQueue: RdKafkaQueue?
        var fatalError: KafkaError?
        var brokerStatus: KafkaBrokerStatus?
        /// Open produce lanes by id (their reports are routed to them).
        var lanes: [UInt32: KafkaProduceLane] = [:]
        var nextLaneID: UInt32 = 0
        /// Lane chunks and topic warm-ups using the handle on callers' threads (it must outlive them).
        var handleUsers = 0
        /// Set before the handle is destroyed: nothing may begin to use it any more.
        var lanesClosed = false
    }

    private let state: Mutex<State>

    init(wakeQueue: RdKafkaQueue) {
        state = Mutex(State(wakeQueue: wakeQueue))
    }

    /// Queues `batch` for the poll thread; false once a stop was requested.
    func submit(_ batch: ProducerBatch) -> Bool {
        state.withLock { state in
            guard state.stopDeadline == nil, let queue = state.wakeQueue else { return false }
            state.submitted.append(batch)
            queue.wake()
            return true
        }
    }

    /// Asks the poll thread to flush for at most `flushTimeout` and stop; later calls change nothing.
    func requestStop(flushTimeout: Duration) {
        state.withLock { state in
            guard state.stopDeadline == nil else { return }
            state.stopDeadline = ContinuousClock.now.advanced(by: max(flushTimeout, .zero))
            state.wakeQueue?.wake()
        }
    }

    /// Poll thread: everything submitted since the last call, and the flush deadline if stopping.
    func takeWork() -> (batches: [ProducerBatch], stopDeadline: ContinuousClock.Instant?) {
        state.withLock { state in
            let batches = state.submitted
            state.submitted.removeAll(keepingCapacity: true)
            return (batches, state.stopDeadline)
        }
    }

    var stopDeadline: ContinuousClock.Instant? {
        state.withLock { $0.stopDeadline }
    }

    var fatalError: KafkaError? {
        state.withLock { $0.fatalError }
    }

    var brokerStatus: KafkaBrokerStatus? {
        state.withLock { $0.brokerStatus }
    }

    func recordBrokerStatus(_ status: KafkaBrokerStatus) {
        state.withLock { $0.brokerStatus = status }
    }

    func recordFatalError(_ error: KafkaError) {
        state.withLock { state in
            if state.fatalError == nil { state.fatalError = error }
        }
    }

    /// Poll thread, before it destroys the client: nobody may wake the queue or use the handle any more.
    /// Waits out the uses under way (a lane chunk takes milliseconds, a topic warm-up at most 2 s).
    func detachQueue() {
        while true {
            let idle = state.withLock { state in
                state.wakeQueue = nil
                state.lanesClosed = true
                return state.handleUsers == 0
            }
            if idle { return }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    // MARK: - Lanes

    /// Registers a lane under a fresh id (top bit set, so its opaque values never match a batch's); nil
    /// once the producer is stopping.
    func openLane(_ make: (UInt32) -> KafkaProduceLane) -> KafkaProduceLane? {
        state.withLock { state in
            guard state.stopDeadline == nil, !state.lanesClosed else { return nil }
            repeat {
                state.nextLaneID &+= 1
            } while state.lanes[state.nextLaneID | 0x8000_0000] != nil
            let id = state.nextLaneID | 0x8000_0000
            let lane = make(id)
            state.lanes[id] = lane
            return lane
        }
    }

    func lane(_ id: UInt32) -> KafkaProduceLane? {
        state.withLock { $0.lanes[id] }
    }

    func removeLane(_ id: UInt32) {
        _ = state.withLock { $0.lanes.removeValue(forKey: id) }
    }

    /// Lanes still registered, with their outstanding messages (the flush at stop waits for them).
    var laneOutstanding: Int {
        state.withLock { state in state.lanes.values.reduce(0) { $0 + $1.outstandingUnreported } }
    }

    /// Before a caller's thread uses the handle (a lane chunk, a warm-up): false once it is going away.
    func beginHandleUse() -> Bool {
        state.withLock { state in
            guard !state.lanesClosed else { return false }
            state.handleUsers += 1
            return true
        }
    }

    func endHandleUse() {
        state.withLock { $0.handleUsers -= 1 }
    }

    /// Poll thread, after librdkafka is destroyed: releases everyone waiting for the shutdown.
    func markFinished() {
        let waiters = state.withLock { state in
            state.finished = true
            state.wakeQueue = nil
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters {
            switch waiter {
            case .semaphore(let semaphore): semaphore.signal()
            case .continuation(let continuation): continuation.resume()
            }
        }
    }

    /// Blocks the calling thread until the poll thread has finished.
    func waitUntilFinished() {
        let semaphore: DispatchSemaphore? = state.withLock { state in
            guard !state.finished else { return nil }
            let semaphore = DispatchSemaphore(value: 0)
            state.waiters.append(.semaphore(semaphore))
            return semaphore
        }
        semaphore?.wait()
    }

    /// Suspends until the poll thread has finished.
    func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyFinished = state.withLock { state in
                guard !state.finished else { return true }
                state.waiters.append(.continuation(continuation))
                return false
            }
            if alreadyFinished { continuation.resume() }
        }
    }
}
