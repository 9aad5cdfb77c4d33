// Tests of RepeatedFailure: back-off that doubles to a cap and starts over, and logging at a bounded rate.
@testable import RelayCore
import Testing

@Suite struct RepeatedFailureTests {
    @Test func backOffDoublesUpToTheCapAndStartsOverAfterASuccess() {
        var failure = RepeatedFailure(initialDelay: .milliseconds(100), maxDelay: .seconds(1), logInterval: .seconds(1))
        let now = ContinuousClock.now
        let delays = (0..<6).map { _ in failure.failed(now: now).delay }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        failure.succeeded()
        #expect(failure.consecutive == 0)
        #expect(failure.failed(now: now).delay == .milliseconds(100))
    }

    @Test func theFirstFailureIsLoggedThenAtMostOnceAnIntervalWithTheCountLeftOut() {
        var failure = RepeatedFailure(initialDelay: .milliseconds(1), maxDelay: .milliseconds(1), logInterval: .seconds(1))
        let start = ContinuousClock.now
        #expect(failure.failed(now: start) == .init(delay: .milliseconds(1), log: true, suppressed: 0))
        for step in 1...9 {
            #expect(!failure.failed(now: start + .milliseconds(100 * step)).log)
        }
        #expect(failure.failed(now: start + .seconds(1)) == .init(delay: .milliseconds(1), log: true, suppressed: 9))
        #expect(failure.failed(now: start + .milliseconds(1500)).log == false)
    }

    @Test func aVeryLongFailureNeverOverflowsTheBackOff() {
        var failure = RepeatedFailure(initialDelay: .milliseconds(100), maxDelay: .seconds(5))
        let now = ContinuousClock.now
        for _ in 0..<10_000 { _ = failure.failed(now: now) }
        #expect(failure.failed(now: now).delay == .seconds(5))
    }
}
