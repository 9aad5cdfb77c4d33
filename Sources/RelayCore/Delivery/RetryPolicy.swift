// When to try a failed delivery again, and when to give up (exponential back-off with full jitter).
import Foundation

package struct RetryPolicy: Sendable {
    package var policy: DeliveryPolicy
    /// Returns a value in [0, 1); injected so tests can pin the jitter.
    package var random: @Sendable () -> Double

    package init(_ policy: DeliveryPolicy, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.random = random
    }

    /// The cap for attempt `n` (1-based): `min(maxBackoff, initialBackoff · 2^(n-1))`.
    package func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let seconds = policy.initialBackoff.seconds * pow(2, Double(exponent))
        return .seconds(min(seconds, policy.maxBackoff.seconds))
    }

    /// Full jitter: uniform in [0, ceiling]; a destination's own `Retry-After` wins when given.
    package func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return retryAfter }
        return .seconds(ceiling(afterAttempt: attempt).seconds * random())
    }

    /// What becomes of a delivery after one attempt: the one place a sink's outcome meets the policy.
    package enum Verdict: Sendable, Equatable {
        case delivered
        /// Try again at `at`; `reason` is why this attempt failed.
        case retry(at: Date, reason: String)
        /// The destination refused it for good (the sink's `.dead`).
        case refused(reason: String)
        /// Still failing when the attempts or the age ran out; `reason` says which and why.
        case gaveUp(reason: String)
    }

    /// The verdict on a delivery first tried or created at `createdAt` whose latest try came to
    /// `outcome` at `now`; `attempt` (1-based) counts the attempts made, this one included when
    /// it was one (see ``DeliveryOutcome/countsAsAttempt``). A retry honours the destination's
    /// `Retry-After` over the back-off; it gives up after `maxAttempts` real attempts, or when
    /// the next try would fall past `maxAge`.
    package func verdict(on outcome: DeliveryOutcome, attempt: Int, createdAt: Date, now: Date) -> Verdict {
        switch outcome {
        case .delivered:
            return .delivered
        case .dead(let reason):
            return .refused(reason: reason)
        case .retry(let retryAfter, let error):
            if attempt >= policy.maxAttempts {
                return .gaveUp(reason: "gave up after \(attempt) attempt(s): \(error)")
            }
            return retry(at: now.addingTimeInterval(delay(afterAttempt: attempt, retryAfter: retryAfter).seconds),
                         createdAt: createdAt, now: now, error: error)
        case .notSent(let retryAfter, let error):
            return retry(at: now.addingTimeInterval(delay(afterAttempt: max(attempt, 1), retryAfter: retryAfter).seconds),
                         createdAt: createdAt, now: now, error: error)
        }
    }

    private func retry(at next: Date, createdAt: Date, now: Date, error: String) -> Verdict {
        if next.timeIntervalSince(createdAt) > policy.maxAge.seconds {
            return .gaveUp(reason: "gave up after \(Int(now.timeIntervalSince(createdAt)))s (max age \(Int(policy.maxAge.seconds))s): \(error)")
        }
        return .retry(at: next, reason: error)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
