// When to try a failed delivery again, and when to give up (exponential back-off with full jitter).
import Foundation

public struct RetryPolicy: Sendable {
    public var policy: DeliveryPolicy
    /// Returns a value in [0, 1); injected so tests can pin the jitter.
    public var random: @Sendable () -> Double

    public init(_ policy: DeliveryPolicy, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.random = random
    }

    /// The cap for attempt `n` (1-based): `min(maxBackoff, initialBackoff · 2^(n-1))`.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let seconds = policy.initialBackoff.seconds * pow(2, Double(exponent))
        return .seconds(min(seconds, policy.maxBackoff.seconds))
    }

    /// Full jitter: uniform in [0, ceiling]; a destination's own `Retry-After` wins when given.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return retryAfter }
        return .seconds(ceiling(afterAttempt: attempt).seconds * random())
    }

    public enum Decision: Sendable, Equatable {
        case retry(at: Date)
        case giveUp(reason: String)
    }

    /// What to do after failed attempt number `attempt` of a delivery created at `createdAt`.
    public func decide(attempt: Int, createdAt: Date, now: Date, retryAfter: Duration?, error: String) -> Decision {
        if attempt >= policy.maxAttempts {
            return .giveUp(reason: "gave up after \(attempt) attempt(s): \(error)")
        }
        let next = now.addingTimeInterval(delay(afterAttempt: attempt, retryAfter: retryAfter).seconds)
        if next.timeIntervalSince(createdAt) > policy.maxAge.seconds {
            return .giveUp(reason: "gave up after \(Int(now.timeIntervalSince(createdAt)))s (max age \(Int(policy.maxAge.seconds))s): \(error)")
        }
        return .retry(at: next)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
