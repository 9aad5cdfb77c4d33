// The back-off schedule: exponential ceilings, full jitter, Retry-After, and when to give up.
import Foundation
import RelayCore
import Testing

@Suite struct RetryPolicyTests {
    let policy = DeliveryPolicy(maxAttempts: 6, maxAge: .seconds(3600), initialBackoff: .milliseconds(500), maxBackoff: .seconds(5))

    @Test func ceilingsDoubleUpToTheCap() {
        let retry = RetryPolicy(policy)
        #expect((1...6).map { retry.ceiling(afterAttempt: $0).seconds } == [0.5, 1, 2, 4, 5, 5])
    }

    @Test(arguments: [0.0, 0.25, 0.999])
    func fullJitterSpansZeroToTheCeiling(_ draw: Double) {
        let retry = RetryPolicy(policy, random: { draw })
        #expect(abs(retry.delay(afterAttempt: 3, retryAfter: nil).seconds - 2 * draw) < 1e-9)
    }

    @Test func retryAfterFromTheDestinationWins() {
        let retry = RetryPolicy(policy, random: { 0 })
        #expect(retry.delay(afterAttempt: 1, retryAfter: .seconds(42)) == .seconds(42))
    }

    @Test func schedulesAgainstTheInjectedClock() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let retry = RetryPolicy(policy, random: { 0.5 })
        #expect(retry.decide(attempt: 2, createdAt: now, now: now, retryAfter: nil, error: "e") == .retry(at: now.addingTimeInterval(0.5)))
    }

    @Test func givesUpAfterMaxAttempts() {
        let now = Date()
        let decision = RetryPolicy(policy).decide(attempt: 6, createdAt: now, now: now, retryAfter: nil, error: "HTTP 503")
        #expect(decision == .giveUp(reason: "gave up after 6 attempt(s): HTTP 503"))
    }

    @Test func givesUpWhenTheNextTryWouldPassMaxAge() {
        let created = Date(timeIntervalSince1970: 0)
        let now = created.addingTimeInterval(3599)
        guard case .giveUp(let reason) = RetryPolicy(policy, random: { 0.9 }).decide(attempt: 2, createdAt: created, now: now, retryAfter: .seconds(10), error: "e") else {
            Issue.record("expected give up"); return
        }
        #expect(reason.contains("max age 3600s"))
    }
}
