// How many of a producer's brokers are connected, read from librdkafka's statistics report.
import Foundation

/// Read from librdkafka's statistics JSON (`brokers.<name>.state`, `nodeid`): real brokers only (the
/// internal pseudo-broker has node id -1; bootstrap entries without a node id yet count as brokers).
package struct KafkaBrokerStatus: Sendable, Equatable {
    package var up: Int
    package var total: Int
    package var reportedAt: ContinuousClock.Instant

    package init(up: Int, total: Int, reportedAt: ContinuousClock.Instant = .now) {
        self.up = up
        self.total = total
        self.reportedAt = reportedAt
    }

    /// nil when the text is not a statistics report with a `brokers` object.
    package init?(statisticsJSON text: String, reportedAt: ContinuousClock.Instant = .now) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let brokers = object["brokers"] as? [String: Any] else { return nil }
        var up = 0
        var total = 0
        for case let broker as [String: Any] in brokers.values {
            if let node = broker["nodeid"] as? Int, node < 0 { continue }
            if (broker["source"] as? String) == "internal" { continue }
            total += 1
            if (broker["state"] as? String) == "UP" { up += 1 }
        }
        self.init(up: up, total: total, reportedAt: reportedAt)
    }
}
