// Shared helpers for the RelayKafka tests: mock cluster, producer, message builders.
import Foundation
import Logging
import RelayKafka
import Testing

/// Every RelayKafka test, one at a time: each starts its own 3-broker mock cluster and fault
/// tests depend on timing, so they should not compete for the two cores.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct RelayKafkaTests {}

enum Fixture {
    static var logger: Logger {
        var logger = Logger(label: "relay.kafka.test")
        logger.logLevel = .error
        return logger
    }

    static func cluster() throws -> KafkaMockCluster {
        try KafkaMockCluster(brokers: 3, logger: logger)
    }

    static func producer(
        _ cluster: KafkaMockCluster,
        properties: [String: String] = [:]
    ) throws -> KafkaProducer {
        try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers, properties: properties),
            logger: logger
        )
    }

    static func topic(_ name: String = #function) -> String {
        let base = name.prefix { $0.isLetter || $0.isNumber }
        return "\(base)-\(UInt32.random(in: 0...UInt32.max))"
    }

    static func bytes(_ text: String) -> [UInt8] {
        Array(text.utf8)
    }

    static func text(_ bytes: [UInt8]?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    /// `count` messages over `keys` keys; value "<key>/<sequence>" lets tests check identity and order.
    static func messages(topic: String, count: Int, keys: Int, headers: Bool = false) -> [KafkaMessage] {
        (0..<count).map { sequence in
            let key = "key-\(sequence % keys)"
            return KafkaMessage(
                topic: topic,
                key: bytes(key),
                value: bytes("\(key)/\(sequence)"),
                headers: headers ? [("sequence", bytes(String(sequence))), ("source", bytes("relay"))] : []
            )
        }
    }

    /// Sends `messages` in consecutive batches of `batchSize`, returning all reports in order.
    static func send(_ messages: [KafkaMessage], with producer: KafkaProducer, batchSize: Int) async -> [KafkaDeliveryReport] {
        var reports: [KafkaDeliveryReport] = []
        reports.reserveCapacity(messages.count)
        var start = 0
        while start < messages.count {
            let end = min(start + batchSize, messages.count)
            reports += await producer.send(Array(messages[start..<end]))
            start = end
        }
        return reports
    }

    static func failures(_ reports: [KafkaDeliveryReport]) -> [KafkaError] {
        reports.compactMap { report in
            if case .failure(let error) = report { return error }
            return nil
        }
    }

    /// Reads `topic` back and checks every value arrived exactly once.
    static func expectExactlyOnce(
        topic: String,
        values expected: Set<String>,
        cluster: KafkaMockCluster,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let reader = try KafkaReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
        let records = try reader.read(topic: topic, maxMessages: expected.count + 1000, timeout: .seconds(15))
        let values = records.compactMap { text($0.value) }
        let distinct = Set(values)
        #expect(values.count == distinct.count, "\(values.count - distinct.count) duplicates", sourceLocation: sourceLocation)
        let missing = expected.subtracting(distinct)
        let unexpected = distinct.subtracting(expected)
        #expect(missing.isEmpty, "\(missing.count) missing, e.g. \(missing.prefix(3))", sourceLocation: sourceLocation)
        #expect(unexpected.isEmpty, "\(unexpected.count) unexpected, e.g. \(unexpected.prefix(3))", sourceLocation: sourceLocation)
        let marks = try reader.highWatermarks(topic: topic, timeout: .seconds(5))
        #expect(marks.values.reduce(0, +) == Int64(expected.count), "high-water marks \(marks)", sourceLocation: sourceLocation)
    }
}
