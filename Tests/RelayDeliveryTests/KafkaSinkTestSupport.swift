// Helpers for the Kafka sink tests: items, a sink on its own mock cluster, read-back and subprocesses off the cooperative pool.
import Foundation
import Logging
import RelayCore
import RelayDelivery
import RelayKafka
import Synchronization
import Testing

enum KafkaSinkFixture {
    /// Silent: the fault tests make librdkafka log (even at critical level) on purpose.
    static let logger = Logger(label: "relay.delivery.kafka.test") { _ in SwiftLogNoOpLogHandler() }

    static let receivedAt = Date(timeIntervalSince1970: 1_760_000_000.123)

    static func topic(_ name: String = #function) -> String {
        let base = name.prefix { $0.isLetter || $0.isNumber }
        return "\(base)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Item `index`: event id `evt-<index>`, a JSON body naming its key and index.
    static func item(
        _ index: Int,
        key: String?,
        subject: String? = nil,
        headers: [PlannedDelivery.Header] = [],
        body: [UInt8]? = nil
    ) -> DeliveryItem {
        DeliveryItem(
            deliveryID: Int64(index), destination: "orders", eventID: EventID(stored: "evt-\(index)"), source: "sitecore",
            eventType: "com.sitecore.cdp.audience-export.notification", subject: subject,
            receivedAt: receivedAt.addingTimeInterval(Double(index) / 1000), key: key, headers: headers,
            body: body ?? Array(#"{"key":"\#(key ?? "-")","index":\#(index),"note":"caf\#u{e9} \u00e9"}"#.utf8),
            attempt: 1
        )
    }

    static func items(count: Int, keys: Int) -> [DeliveryItem] {
        (0..<count).map { item($0, key: "key-\($0 % keys)") }
    }

    /// A sink named `orders` on its own `KafkaClusters`; everything is shut down afterwards.
    /// The test's reference to the mock cluster is gone before `KafkaClusters.shutdown()`, which
    /// then destroys the cluster on a thread of its own (that takes about a second).
    /// `partitions` creates the destination's topic with that many partitions (replication factor 3)
    /// before the sink exists: the sink's producer may ask for the topic's metadata at once, which
    /// would have the mock cluster create it first, and a later explicit create fail.
    static func withSink<T>(
        _ destination: KafkaDestination,
        partitions: Int32? = nil,
        _ body: (KafkaSink, KafkaMockCluster, String) async throws -> T
    ) async throws -> T {
        let clusters = KafkaClusters(logger: logger)
        do {
            if let partitions {
                let cluster = try #require(try clusters.mockCluster(for: destination.brokers))
                try cluster.createTopic(destination.topic, partitions: partitions, replicationFactor: 3)
            }
            let sink = try KafkaSink(name: "orders", destination: destination, clusters: clusters, logger: logger)
            let result = try await run(body, sink: sink, clusters: clusters, brokers: destination.brokers)
            await sink.shutdown()
            await clusters.shutdown()
            return result
        } catch {
            await clusters.shutdown()
            throw error
        }
    }

    private static func run<T>(
        _ body: (KafkaSink, KafkaMockCluster, String) async throws -> T,
        sink: KafkaSink,
        clusters: KafkaClusters,
        brokers: String
    ) async throws -> T {
        let cluster = try #require(try clusters.mockCluster(for: brokers))
        return try await body(sink, cluster, cluster.bootstrapServers)
    }

    /// Delivers `items` in consecutive batches of `batchSize`; outcomes in item order.
    static func deliver(_ items: [DeliveryItem], to sink: KafkaSink, batchSize: Int) async -> [DeliveryOutcome] {
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(items.count)
        for start in stride(from: 0, to: items.count, by: batchSize) {
            outcomes += await sink.deliver(Array(items[start..<min(start + batchSize, items.count)]))
        }
        return outcomes
    }

    /// Delivers as the dispatcher does: batches of `batchSize`, then the items answered `.retry`
    /// again, in order, up to `rounds` times. Returns the final outcome per event id.
    static func deliverRetrying(
        _ items: [DeliveryItem], to sink: KafkaSink, batchSize: Int, rounds: Int = 5
    ) async -> [String: DeliveryOutcome] {
        var final: [String: DeliveryOutcome] = [:]
        var pending = items
        for _ in 0..<rounds where !pending.isEmpty {
            let outcomes = await deliver(pending, to: sink, batchSize: batchSize)
            var again: [DeliveryItem] = []
            for (item, outcome) in zip(pending, outcomes) {
                final[item.eventID.rawValue] = outcome
                if case .retry = outcome { again.append(item) }
            }
            pending = again
        }
        return final
    }

    static func notDelivered(_ outcomes: [DeliveryOutcome]) -> [DeliveryOutcome] {
        outcomes.filter { $0 != .delivered }
    }

    /// Reads `topic` from the beginning on a thread of its own (the reader blocks).
    static func readBack(_ bootstrap: String, topic: String, expecting count: Int) async throws -> [KafkaRecord] {
        try await onThread {
            let reader = try KafkaReader(bootstrapServers: bootstrap, logger: logger)
            return try reader.read(topic: topic, maxMessages: count + 1000, timeout: .seconds(15))
        }
    }

    /// Sum of the high-water marks of `topic`: how many messages it ever received.
    static func messageCount(_ bootstrap: String, topic: String) async throws -> Int64 {
        try await onThread {
            let reader = try KafkaReader(bootstrapServers: bootstrap, logger: logger)
            return try reader.highWatermarks(topic: topic, timeout: .seconds(10)).values.reduce(0, +)
        }
    }

    static func header(_ record: KafkaRecord, _ name: String) -> String? {
        record.headers.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    static func text(_ bytes: [UInt8]?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Records by their `ce_id`, recording an issue for any id read more than once.
    static func byEventID(_ records: [KafkaRecord], sourceLocation: SourceLocation = #_sourceLocation) -> [String: KafkaRecord] {
        var result: [String: KafkaRecord] = [:]
        for record in records {
            guard let id = header(record, "ce_id") else {
                Issue.record("record without ce_id at \(record.partition)/\(record.offset)", sourceLocation: sourceLocation)
                continue
            }
            if result.updateValue(record, forKey: id) != nil {
                Issue.record("\(id) read more than once", sourceLocation: sourceLocation)
            }
        }
        return result
    }

    /// Runs blocking `work` on a new thread, so the two-thread cooperative pool stays free.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }
}
