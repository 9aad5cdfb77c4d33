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
        #expect(retry.verdict(on: .retry(after: nil, reason: "e"), attempt: 2, createdAt: now, now: now)
            == .retry(at: now.addingTimeInterval(0.5), reason: "e"))
    }

    static let verdicts: [(DeliveryOutcome, Int, RetryPolicy.Verdict)] = [
        (.delivered, 1, .delivered),
        (.delivered, 99, .delivered),
        (.dead(reason: "HTTP 400"), 1, .refused(reason: "HTTP 400")),
        (.dead(reason: "HTTP 400"), 6, .refused(reason: "HTTP 400")),
        (.retry(after: nil, reason: "HTTP 503"), 1, .retry(at: Date(timeIntervalSince1970: 1_000_000.25), reason: "HTTP 503")),
        (.retry(after: .seconds(7), reason: "HTTP 429"), 5, .retry(at: Date(timeIntervalSince1970: 1_000_007), reason: "HTTP 429")),
        (.retry(after: nil, reason: "HTTP 503"), 6, .gaveUp(reason: "gave up after 6 attempt(s): HTTP 503")),
        (.retry(after: .seconds(1), reason: "timeout"), 7, .gaveUp(reason: "gave up after 7 attempt(s): timeout")),
        (.retry(after: .seconds(3601), reason: "HTTP 429"), 1, .gaveUp(reason: "gave up after 0s (max age 3600s): HTTP 429")),
        // Turned away unsent: no attempt, so never out of attempts; only the age ends it.
        (.notSent(after: .seconds(20), reason: "circuit open"), 6, .retry(at: Date(timeIntervalSince1970: 1_000_020), reason: "circuit open")),
        (.notSent(after: nil, reason: "shut down"), 0, .retry(at: Date(timeIntervalSince1970: 1_000_000.25), reason: "shut down")),
        (.notSent(after: .seconds(3601), reason: "circuit open"), 99, .gaveUp(reason: "gave up after 0s (max age 3600s): circuit open")),
    ]

    /// Every sink outcome against the policy: delivered stays delivered, dead is refused at any
    /// attempt, retries are scheduled (Retry-After over the back-off) until attempts or age run out.
    @Test(arguments: verdicts)
    func verdictOnEachOutcome(_ outcome: DeliveryOutcome, _ attempt: Int, _ expected: RetryPolicy.Verdict) {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let retry = RetryPolicy(policy, random: { 0.5 })
        #expect(retry.verdict(on: outcome, attempt: attempt, createdAt: now, now: now) == expected)
    }

    @Test func givesUpWhenTheNextTryWouldPassMaxAge() {
        let created = Date(timeIntervalSince1970: 0)
        let now = created.addingTimeInterval(3599)
        let verdict = RetryPolicy(policy, random: { 0.9 }).verdict(on: .retry(after: .seconds(10), reason: "e"), attempt: 2,
                                                                   createdAt: created, now: now)
        #expect(verdict == .gaveUp(reason: "gave up after 3599s (max age 3600s): e"))
    }
}
