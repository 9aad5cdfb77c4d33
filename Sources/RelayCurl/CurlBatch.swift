// A batch of buffered requests run by one worker thread inside a window of concurrency slots: the worker
// builds, starts and finishes each request itself, so the caller suspends once per batch, not per request.

/// What a batch asks of its caller. Every closure runs on the client's worker thread, one call at a
/// time, and must be quick and must not block (the worker drives every other transfer meanwhile).
package struct CurlBatchHandlers: Sendable {
    /// The request for item `index` (asked in order, once each, when a slot is free), or nil when the
    /// item is not to be sent (the caller has settled it); the slot then goes to the next item.
    package var request: @Sendable (_ index: Int) -> HTTPRequestSpec?
    /// The outcome of item `index`'s request: any HTTP status is a result, transport failures are errors.
    /// Not called for items never started (batch cancelled or client shut down first).
    package var completed: @Sendable (_ index: Int, _ result: Result<HTTPResult, CurlError>) -> Void
    /// Takes one more slot if one is free at once (the batch grows its window), or false.
    package var tryAcquireSlot: @Sendable () -> Bool
    /// Gives back a slot the batch no longer needs (no item left to start on it, or another batch wants it).
    package var releaseSlot: @Sendable () -> Void
    /// Whether another batch shares the slots (running or waiting for its first): a batch then takes no
    /// slot beyond its share, and one holding more gives one back each time one of its requests ends.
    package var slotWanted: @Sendable () -> Bool

    package init(
        request: @escaping @Sendable (_ index: Int) -> HTTPRequestSpec?,
        completed: @escaping @Sendable (_ index: Int, _ result: Result<HTTPResult, CurlError>) -> Void,
        tryAcquireSlot: @escaping @Sendable () -> Bool,
        releaseSlot: @escaping @Sendable () -> Void,
        slotWanted: @escaping @Sendable () -> Bool
    ) {
        self.request = request
        self.completed = completed
        self.tryAcquireSlot = tryAcquireSlot
        self.releaseSlot = releaseSlot
        self.slotWanted = slotWanted
    }
}

/// One batch's progress. Threading: configured by the submitting task; from `CurlCore.submit` until the
/// continuation is resumed, touched only by the worker thread. `cancelRequested` is guarded by the core's lock.
final class CurlBatch: @unchecked Sendable {
    let count: Int
    let maxBodyBytes: Int
    let handlers: CurlBatchHandlers
    /// The next item to ask a request for.
    var next = 0
    /// Slots the batch holds: requests in flight plus at most one being started.
    var held: Int
    /// Most slots the batch holds at once.
    let window: Int
    /// Slots the batch keeps while another batch waits for one.
    let share: Int
    var inFlight = 0
    /// Set once the batch was cancelled or the client stopped: nothing more starts.
    var stopped = false
    var cancelRequested = false
    var completion: UnsafeContinuation<Void, Never>?

    init(count: Int, holding slots: Int, window: Int, share: Int, maxBodyBytes: Int, handlers: CurlBatchHandlers) {
        self.count = count
        self.held = slots
        self.window = max(1, window)
        self.share = max(1, min(share, window))
        self.maxBodyBytes = max(0, maxBodyBytes)
        self.handlers = handlers
    }

    /// Whether another item may start now, taking a further slot when every held one is busy.
    func mayStartAnother() -> Bool {
        guard !stopped, next < count else { return false }
        if inFlight < held { return true }
        guard held < window, held < share || !handlers.slotWanted(), handlers.tryAcquireSlot() else { return false }
        held += 1
        return true
    }

    /// A request of this batch left the multi handle: its slot goes to the next item, or back when none is left.
    func requestEnded() {
        inFlight -= 1
        if stopped || next >= count {
            releaseUnused()
        } else if held > share && handlers.slotWanted() {
            held -= 1
            handlers.releaseSlot()
        }
    }

    /// Returns the slots beyond those in flight.
    func releaseUnused() {
        while held > inFlight {
            held -= 1
            handlers.releaseSlot()
        }
    }

    /// Whether nothing is in flight and nothing more will start.
    var isFinished: Bool {
        inFlight == 0 && (stopped || next >= count)
    }

    /// Hands the slots back and wakes the caller; once.
    func resumeCaller() {
        releaseUnused()
        if let completion {
            self.completion = nil
            completion.resume()
        }
    }
}
