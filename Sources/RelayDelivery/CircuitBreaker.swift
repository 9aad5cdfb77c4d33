// CircuitBreaker: closed → open after N consecutive failures → half-open probe after a cool-down (pure logic, time passed in).
import Foundation
import RelayCore

/// The circuit breaker of one destination, as a value: the owner keeps it behind a lock and
/// passes the current time to every call, so tests drive it with any clock.
///
/// - **Closed**: every request is admitted; each failure adds to a run of consecutive failures,
///   each success ends the run. A run of ``failureThreshold`` failures opens the breaker.
/// - **Open** until ``coolDown`` has passed: nothing is admitted; callers are told how long is left.
/// - **Half-open** after that: exactly one request (the probe) is admitted, the others are
///   rejected while it is in flight. Its success closes the breaker, its failure opens it again
///   for another cool-down, and a probe that never got an answer (cancelled) lets the next
///   request probe instead.
///
/// Results of requests admitted before the breaker last changed state are ignored: answers
/// still arriving from a burst that opened it neither extend nor end the cool-down.
package struct CircuitBreaker: Sendable {
    package enum State: Sendable, Equatable {
        case closed
        case open(until: Date)
        case halfOpen
    }

    /// Permission to send one request; hand it back with the request's result.
    package struct Ticket: Sendable, Equatable {
        let generation: UInt64
        /// Whether this request is the half-open probe.
        package let isProbe: Bool
    }

    /// Why a request may not be sent now.
    package struct Rejection: Sendable, Equatable {
        /// How long until the breaker lets a probe through; nil while a probe is in flight.
        package var retryAfter: Duration?
        package var reason: String

        package init(retryAfter: Duration?, reason: String) {
            self.retryAfter = retryAfter
            self.reason = reason
        }
    }

    package enum Admission: Sendable, Equatable {
        case admitted(Ticket)
        case rejected(Rejection)
    }

    /// What became of an admitted request.
    package enum Result: Sendable, Equatable {
        /// The destination answered in a way retrying would not change (delivered, or a
        /// definitive refusal such as a 4xx): it is up.
        case success
        /// No answer, or one that asks to try again (timeout, refused connection, 503).
        case failure(reason: String)
        /// The request ended without telling anything about the destination (cancelled, shut down).
        case abandoned
    }

    /// Consecutive failures that open the breaker; 0 or less: it never opens.
    package let failureThreshold: Int
    package let coolDown: Duration
    package private(set) var state: State = .closed
    /// The current run of failures (kept while open, for the rejection reason).
    package private(set) var consecutiveFailures = 0
    /// The reason of the last failure of the run.
    package private(set) var lastFailure: String?
    private var generation: UInt64 = 0
    private var probeInFlight = false

    package init(failureThreshold: Int, coolDown: Duration) {
        self.failureThreshold = failureThreshold
        self.coolDown = coolDown
    }

    /// Admits a request or says why not. Moves an open breaker whose cool-down has passed to
    /// half-open, where the first caller gets the probe ticket.
    package mutating func admit(now: Date) -> Admission {
        switch state {
        case .closed:
            return .admitted(Ticket(generation: generation, isProbe: false))
        case .open(let until):
            if now < until { return .rejected(openRejection(until: until, now: now)) }
            state = .halfOpen
            generation &+= 1
            probeInFlight = false
            fallthrough
        case .halfOpen:
            if probeInFlight { return .rejected(probeRejection) }
            probeInFlight = true
            return .admitted(Ticket(generation: generation, isProbe: true))
        }
    }

    /// What ``admit(now:)`` would refuse right now, without taking the probe: lets callers turn
    /// requests away before they queue for a connection slot.
    package func rejection(now: Date) -> Rejection? {
        switch state {
        case .closed:
            return nil
        case .open(let until):
            return now < until ? openRejection(until: until, now: now) : nil
        case .halfOpen:
            return probeInFlight ? probeRejection : nil
        }
    }

    /// Records the result of a request admitted with `ticket`.
    package mutating func record(_ result: Result, for ticket: Ticket, now: Date) {
        guard ticket.generation == generation else { return }
        switch (state, result) {
        case (_, .abandoned):
            if ticket.isProbe { probeInFlight = false }
        case (.closed, .success):
            consecutiveFailures = 0
            lastFailure = nil
        case (.closed, .failure(let reason)):
            consecutiveFailures += 1
            lastFailure = reason
            if failureThreshold > 0 && consecutiveFailures >= failureThreshold { open(now: now) }
        case (.halfOpen, .success):
            state = .closed
            generation &+= 1
            consecutiveFailures = 0
            lastFailure = nil
            probeInFlight = false
        case (.halfOpen, .failure(let reason)):
            consecutiveFailures += 1
            lastFailure = reason
            open(now: now)
        case (.open, _):
            break
        }
    }

    private mutating func open(now: Date) {
        state = .open(until: now.addingTimeInterval(coolDown.seconds))
        generation &+= 1
        probeInFlight = false
    }

    private func openRejection(until: Date, now: Date) -> Rejection {
        let milliseconds = (until.timeIntervalSince(now) * 1000).rounded(.up)
        return Rejection(retryAfter: .milliseconds(Int64(max(0, milliseconds))), reason: "circuit open after \(runDescription)")
    }

    private var probeRejection: Rejection {
        Rejection(retryAfter: nil, reason: "circuit half-open after \(runDescription): waiting for the probe request")
    }

    private var runDescription: String {
        let run = "\(consecutiveFailures) consecutive failure\(consecutiveFailures == 1 ? "" : "s")"
        guard let lastFailure else { return run }
        return "\(run) (last: \(lastFailure))"
    }
}
