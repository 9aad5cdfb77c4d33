// `/readyz`: the outbox takes a write (checked by writing, at most every few seconds) and every sink
// can reach its destination (Kafka brokers connected, HTTP circuit breaker not open), naming what is not.
import Foundation
import RelayCore
import RelayDelivery
import RelayOutbox
import Synchronization

final class Readiness: Sendable {
    private let outbox: SQLiteOutbox
    private let sinks: @Sendable () -> [String: any Sink]
    /// Where the clients point (the embedded Kafka's bootstrap address, say), appended to a ready answer.
    private let clients: @Sendable () -> String
    private let probeInterval: Duration
    /// The last write probe: when, and why it failed (nil: it worked).
    private let lastProbe = Mutex<(at: ContinuousClock.Instant, failure: String?)?>(nil)

    init(outbox: SQLiteOutbox, sinks: @escaping @Sendable () -> [String: any Sink], clients: @escaping @Sendable () -> String = { "" },
         probeInterval: Duration = .seconds(3)) {
        self.outbox = outbox
        self.sinks = sinks
        self.clients = clients
        self.probeInterval = probeInterval
    }

    func check() async -> (ready: Bool, detail: String) {
        var problems: [String] = []
        if let failure = await outboxFailure() { problems.append("outbox: \(failure)") }
        for (name, sink) in sinks().sorted(by: { $0.key < $1.key }) {
            if let health = sink.health { problems.append("destination \(name): \(health)") }
        }
        if problems.isEmpty {
            let summary = clients()
            return (true, "outbox takes writes (WAL, synchronous=FULL); every destination reachable" + (summary.isEmpty ? "" : "; " + summary))
        }
        return (false, problems.joined(separator: "; "))
    }

    private func outboxFailure() async -> String? {
        // A failed commit of events counts for a while even when the probe's one small row still fits
        // (a nearly full disk); bounded, so a pod taken out of the load balancer gets a fresh verdict.
        if let failure = outbox.recentCommitFailure(within: probeInterval * 3) { return "the last commit of events failed: \(failure)" }
        if let last = lastProbe.withLock({ $0 }), ContinuousClock.now - last.at < probeInterval { return last.failure }
        var failure: String?
        do {
            let settings = try outbox.durabilitySettings()
            if settings.synchronous != 2 || settings.journalMode != "wal" {
                failure = "durability settings are wrong: synchronous=\(settings.synchronous) journal=\(settings.journalMode)"
            } else {
                try await outbox.probeWrite(at: Date())
            }
        } catch {
            failure = "cannot take a write: \(error)"
        }
        lastProbe.withLock { $0 = (ContinuousClock.now, failure) }
        return failure
    }
}
