// What a loop does about an error it retries: how long to back off, and whether to log this occurrence.

/// Tracks one cause of repeated failure in a long-running loop (the outbox cannot be read, say).
///
/// - Back-off doubles from `initialDelay` up to `maxDelay` while the failure repeats and starts over after
///   a success, so a loop whose store is gone sleeps instead of spinning.
/// - Logging is rate-limited: the first failure is logged, then at most one every `logInterval`, with the
///   number of occurrences suppressed since the last line, so a failure that lasts all night writes a few
///   thousand lines, not gigabytes.
///
/// Pure value (the caller passes the time), so it is unit-tested without clocks.
package struct RepeatedFailure: Sendable {
    package let initialDelay: Duration
    package let maxDelay: Duration
    package let logInterval: Duration
    /// Consecutive failures since the last success.
    package private(set) var consecutive = 0
    private var suppressed = 0
    private var lastLogged: ContinuousClock.Instant?

    package init(initialDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5), logInterval: Duration = .seconds(1)) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.logInterval = logInterval
    }

    /// What to do about one more failure.
    package struct Decision: Sendable, Equatable {
        /// How long to wait before trying again.
        package var delay: Duration
        /// Log this occurrence now.
        package var log: Bool
        /// Occurrences not logged since the last logged one (say so in the line).
        package var suppressed: Int
    }

    package mutating func failed(now: ContinuousClock.Instant) -> Decision {
        consecutive += 1
        var delay = initialDelay
        for _ in 1..<min(consecutive, 32) {
            delay = delay * 2
            if delay >= maxDelay { break }
        }
        delay = min(delay, maxDelay)
        if let last = lastLogged, now - last < logInterval {
            suppressed += 1
            return Decision(delay: delay, log: false, suppressed: suppressed)
        }
        let count = suppressed
        suppressed = 0
        lastLogged = now
        return Decision(delay: delay, log: true, suppressed: count)
    }

    /// The operation worked: the next failure backs off from the start again.
    package mutating func succeeded() {
        consecutive = 0
    }
}
