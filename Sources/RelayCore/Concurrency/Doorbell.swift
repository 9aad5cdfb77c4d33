// A wake-up signal for one worker loop: `ring` from anywhere, `wait` with a timeout from the loop.
import Synchronization

package final class Doorbell: Sendable {
    private struct State {
        var rung = false
        /// The current wait's time ran out (or its task was cancelled) before it started waiting.
        var expired = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    package init() {}

    package func ring() {
        wakeWaiter(orSet: \.rung)
    }

    /// Returns when rung (a ring before the call counts), after `timeout`, or when the calling task is
    /// cancelled. A ring is never lost: one that comes while nobody waits is kept for the next call.
    package func wait(timeout: Duration) async {
        if state.withLock({ state in
            defer { state.rung = false }
            return state.rung
        }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Ends the wait when the time is up, and also when cancellation cut the sleep short.
                try? await Task.sleep(for: timeout)
                expire()
            }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || state.expired {
                        state.rung = false
                        state.expired = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
        // The timer may have expired after the wait ended; that is not a ring, so it is dropped.
        state.withLock { $0.expired = false }
    }

    private func expire() {
        wakeWaiter(orSet: \.expired)
    }

    /// Resumes the current waiter, or, with nobody waiting, leaves `flag` set for the next wait.
    private func wakeWaiter(orSet flag: WritableKeyPath<State, Bool> & Sendable) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state[keyPath: flag] = true
            return nil
        }
        waiter?.resume()
    }
}
