// Tests of CircuitBreaker: opening after failures, the cool-down, the half-open probe.
import Foundation
import RelayCore
import RelayCurl
import RelayDelivery
import RelayTestSupport
import Testing

@Suite struct CircuitBreakerTests {
    private let start = Date(timeIntervalSince1970: 1_763_900_000)

    private func admitted(_ breaker: inout CircuitBreaker, at now: Date) -> CircuitBreaker.Ticket? {
        if case .admitted(let ticket) = breaker.admit(now: now) { return ticket }
        return nil
    }

    @Test func opensAfterTheThresholdOfConsecutiveFailures() throws {
        var breaker = CircuitBreaker(failureThreshold: 3, coolDown: .seconds(30))
        for _ in 0..<2 {
            let ticket = try #require(admitted(&breaker, at: start))
            breaker.record(.failure(reason: "HTTP 503"), for: ticket, now: start)
        }
        // A success ends the run.
        breaker.record(.success, for: try #require(admitted(&breaker, at: start)), now: start)
        #expect(breaker.consecutiveFailures == 0)
        for _ in 0..<3 {
            let ticket = try #require(admitted(&breaker, at: start))
            #expect(!ticket.isProbe)
            breaker.record(.failure(reason: "connect: refused"), for: ticket, now: start)
        }
        #expect(breaker.state == .open(until: start.addingTimeInterval(30)))
        let later = start.addingTimeInterval(12)
        let rejection = CircuitBreaker.Rejection(
            retryAfter: .seconds(18), reason: "circuit open after 3 consecutive failures (last: connect: refused)")
        #expect(breaker.admit(now: later) == .rejected(rejection))
        #expect(breaker.rejection(now: later) == rejection)
    }

    @Test func halfOpenAdmitsExactlyOneProbeAndItsSuccessCloses() throws {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDown: .seconds(5))
        breaker.record(.failure(reason: "timeout"), for: try #require(admitted(&breaker, at: start)), now: start)
        let after = start.addingTimeInterval(5)
        #expect(breaker.rejection(now: after) == nil)
        let probe = try #require(admitted(&breaker, at: after))
        #expect(probe.isProbe)
        #expect(breaker.state == .halfOpen)
        #expect(admitted(&breaker, at: after) == nil)
        #expect(breaker.rejection(now: after)?.retryAfter == nil)
        breaker.record(.success, for: probe, now: after)
        #expect(breaker.state == .closed)
        #expect(try #require(admitted(&breaker, at: after)).isProbe == false)
    }

    @Test func aFailedProbeReopensForAnotherCoolDown() throws {
        var breaker = CircuitBreaker(failureThreshold: 2, coolDown: .seconds(5))
        for _ in 0..<2 {
            breaker.record(.failure(reason: "HTTP 502"), for: try #require(admitted(&breaker, at: start)), now: start)
        }
        let after = start.addingTimeInterval(6)
        let probe = try #require(admitted(&breaker, at: after))
        breaker.record(.failure(reason: "HTTP 502"), for: probe, now: after)
        #expect(breaker.state == .open(until: after.addingTimeInterval(5)))
        #expect(breaker.consecutiveFailures == 3)
    }

    @Test func anAbandonedProbeLetsTheNextRequestProbe() throws {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDown: .seconds(5))
        breaker.record(.failure(reason: "timeout"), for: try #require(admitted(&breaker, at: start)), now: start)
        let after = start.addingTimeInterval(5)
        let probe = try #require(admitted(&breaker, at: after))
        breaker.record(.abandoned, for: probe, now: after)
        #expect(breaker.state == .halfOpen)
        #expect(try #require(admitted(&breaker, at: after)).isProbe)
    }

    @Test func resultsOfRequestsAdmittedBeforeTheBreakerOpenedAreIgnored() throws {
        var breaker = CircuitBreaker(failureThreshold: 2, coolDown: .seconds(5))
        let tickets = try (0..<4).map { _ in try #require(admitted(&breaker, at: start)) }
        breaker.record(.failure(reason: "a"), for: tickets[0], now: start)
        breaker.record(.failure(reason: "b"), for: tickets[1], now: start)
        let open = CircuitBreaker.State.open(until: start.addingTimeInterval(5))
        #expect(breaker.state == open)
        breaker.record(.success, for: tickets[2], now: start.addingTimeInterval(1))
        breaker.record(.failure(reason: "c"), for: tickets[3], now: start.addingTimeInterval(2))
        #expect(breaker.state == open)
        #expect(breaker.lastFailure == "b")
    }

    @Test func aThresholdOfZeroNeverOpens() throws {
        var breaker = CircuitBreaker(failureThreshold: 0, coolDown: .seconds(5))
        for _ in 0..<50 {
            breaker.record(.failure(reason: "x"), for: try #require(admitted(&breaker, at: start)), now: start)
        }
        #expect(breaker.state == .closed)
    }
}
