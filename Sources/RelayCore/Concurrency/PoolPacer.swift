// Paces a long synchronous loop on Swift's cooperative pool: gives the thread up every few hundred steps.
//
// The pool has one thread per core (two here), and every async task of the process, the listener's
// accept loop and its request handlers included, waits for one. A loop over a 5,000-delivery batch
// that never suspends holds its thread for tens of milliseconds; two of them and `/healthz` waits
// that long (issue 19: a slowest probe of 45-306 ms during 1M-row drains on a busy machine).

package enum PoolPacer {
    /// Items per slice: a few hundred deliveries' worth of work, well under 1 ms.
    package static let defaultEvery = 256

    /// Calls `body` with consecutive ranges covering `0..<count`, each at most `every` long, and
    /// suspends (`yield`, `Task.yield()` unless a test counts the calls) between two of them. The
    /// loop inside `body` stays synchronous: a suspension point in every iteration instead made the
    /// compiler keep the loop's state in the task's frame, and cost ~13% of the Kafka drain.
    package static func slices(of count: Int, every: Int = defaultEvery,
                               yield: () async -> Void = { await Task.yield() },
                               _ body: (Range<Int>) -> Void) async {
        let every = max(1, every)
        var start = 0
        while start < count {
            if start > 0 { await yield() }
            let end = min(start + every, count)
            body(start..<end)
            start = end
        }
    }
}
