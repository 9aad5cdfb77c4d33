// Turns handed out in call order: work may be prepared in parallel and still handed over in that order.
import Synchronization

/// `take()` (synchronous, so its order is the callers' order) gives a turn; `wait(for:)` suspends until
/// every earlier turn has called `finish(_:)`. Each turn must finish exactly once, whatever happens.
package final class TurnSequencer: Sendable {
    private struct State {
        var nextTurn: UInt64 = 0
        var finished: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package func take() -> UInt64 {
        state.withLock { state in
            defer { state.nextTurn += 1 }
            return state.nextTurn
        }
    }

    package func wait(for turn: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.finished == turn { return true }
                state.waiting[turn] = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    package func finish(_ turn: UInt64) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            precondition(turn == state.finished, "turn \(turn) finished out of order (expected \(state.finished))")
            state.finished += 1
            return state.waiting.removeValue(forKey: state.finished)
        }
        next?.resume()
    }
}
