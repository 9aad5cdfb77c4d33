// Paces a long synchronous loop on Swift's cooperative pool: gives the thread up every few hundred steps.
//
// The pool has one thread per core (two here), and every async task of the process, the listener's
// accept loop and its request handlers included, waits for one. A loop over a 5,000-delivery batch
// that never suspends holds its thread for tens of milliseconds; two of them and `/healthz` waits
// that long (issue 19: a slowest probe of 45-306 ms during 1M-row drains on a busy machine).

package struct PoolPacer {
    /// Steps between two yields: a few hundred deliveries' worth of work, well under 1 ms.
    package static let defaultEvery = 256

    private let every: Int
    private let yield: () async -> Void
    private var count = 0

    /// `yield` is `Task.yield()` unless a test counts the calls.
    package init(every: Int = Self.defaultEvery, yield: @escaping () async -> Void = { await Task.yield() }) {
        self.every = max(1, every)
        self.yield = yield
    }

    /// Counts one step; every `every` steps, suspends so other tasks waiting for the pool run first.
    package mutating func step() async {
        count += 1
        if count >= every {
            count = 0
            await yield()
        }
    }
}
