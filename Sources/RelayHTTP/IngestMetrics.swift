// Ingest counters and latency timers, created once per (source, outcome) and reused.
import Metrics
import Synchronization

package final class IngestMetrics: Sendable {
    package enum Outcome: String, Sendable, CaseIterable {
        case accepted, duplicate, unauthorized, malformed, invalid, tooLarge = "too_large",
             unsupportedMediaType = "unsupported_media_type", unavailable, notFound = "not_found",
             methodNotAllowed = "method_not_allowed"
    }

    private struct Key: Hashable { var source: String; var outcome: Outcome }
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[String: Timer]>([:])

    package init() {}

    package func record(source: String, outcome: Outcome, nanoseconds: Int64) {
        let key = Key(source: source, outcome: outcome)
        let counter = counters.withLock { table in
            if let existing = table[key] { return existing }
            let made = Counter(label: "relay_ingest_total", dimensions: [("source", source), ("outcome", outcome.rawValue)])
            table[key] = made
            return made
        }
        counter.increment()
        let timer = timers.withLock { table in
            if let existing = table[source] { return existing }
            let made = Timer(label: "relay_ingest_duration_seconds", dimensions: [("source", source)], preferredDisplayUnit: .seconds)
            table[source] = made
            return made
        }
        timer.recordNanoseconds(nanoseconds)
    }
}
