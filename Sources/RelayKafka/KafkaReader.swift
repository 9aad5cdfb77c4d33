// KafkaReader: a small blocking consumer for tests and diagnostics — read a topic, query watermarks.
import CRdKafka
import Foundation
import Logging

/// Reads whole topics (every partition, from the beginning or given offsets) and queries
/// high-water marks. Every call blocks its thread; not for the relay's hot path.
package final class KafkaReader {
    private let client: RdKafkaClient
    private let logger: Logger

    /// `properties` are applied after the reader's own settings.
    package init(
        bootstrapServers: String,
        properties: [String: String] = [:],
        logger: Logger = Logger(label: "relay.kafka.reader")
    ) throws(KafkaError) {
        let conf = RdKafkaConfiguration()
        try conf.set("bootstrap.servers", bootstrapServers)
        // Manual assignment needs a group id, but nothing is committed or joined.
        try conf.set("group.id", "relay-kafka-reader-\(UInt64.random(in: 0...UInt64.max))")
        try conf.set("enable.auto.commit", "false")
        try conf.set("enable.partition.eof", "true")
        try conf.set("auto.offset.reset", "earliest")
        // Short fetch waits: end-of-partition is noticed sooner, and watermark queries are not
        // queued behind a long-polling fetch on the same connection.
        try conf.set("fetch.wait.max.ms", "10")
        try conf.set("fetch.error.backoff.ms", "10")
        for name in properties.keys.sorted() {
            if let value = properties[name] { try conf.set(name, value) }
        }
        client = try RdKafkaClient(type: RD_KAFKA_CONSUMER, configuration: conf, logger: logger)
        rd_kafka_poll_set_consumer(client.pointer)
        self.logger = logger
    }

    /// Reads `topic` until `maxMessages` records were read, every partition is at its end, or
    /// `timeout` passes (then returns what it has). `offsets` gives start offsets per partition;
    /// partitions not named start at the beginning. Records of one partition come in offset order.
    package func read(
        topic: String,
        offsets: [Int32: Int64] = [:],
        maxMessages: Int,
        timeout: Duration
    ) throws(KafkaError) -> [KafkaRecord] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let partitions = try partitionIDs(topic: topic, deadline: deadline)
        try assign(topic: topic, partitions: partitions, offsets: offsets)
        defer { rd_kafka_assign(client.pointer, nil) }

        var records: [KafkaRecord] = []
        var atEnd = Set<Int32>()
        while records.count < maxMessages, atEnd.count < partitions.count,
              let left = milliseconds(until: deadline) {
            guard let message = rd_kafka_consumer_poll(client.pointer, min(left, 100)) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let entry = message.pointee
            if entry.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                atEnd.insert(entry.partition)
                continue
            }
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let error = KafkaError(entry.err, message: cString(rd_kafka_message_errstr(message)))
                guard error.isRetriable else { throw error }
                logger.debug("reader: transient error", metadata: ["error": "\(error)"])
                continue
            }
            atEnd.remove(entry.partition)
            records.append(Self.record(message, topic: topic))
        }
        return records
    }

    /// The high-water mark (offset of the next message) of every partition of `topic`.
    package func highWatermarks(topic: String, timeout: Duration) throws(KafkaError) -> [Int32: Int64] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var result: [Int32: Int64] = [:]
        for partition in try partitionIDs(topic: topic, deadline: deadline) {
            var low: Int64 = 0
            var high: Int64 = 0
            let err = rd_kafka_query_watermark_offsets(
                client.pointer, topic, partition, &low, &high, milliseconds(until: deadline) ?? 1
            )
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(err, message: "watermarks of \(topic)/\(partition): \(cString(rd_kafka_err2str(err)))")
            }
            result[partition] = high
        }
        return result
    }

    /// The partition ids of `topic`, asking for metadata until the topic exists or `deadline`.
    private func partitionIDs(topic: String, deadline: ContinuousClock.Instant) throws(KafkaError) -> [Int32] {
        guard let handle = rd_kafka_topic_new(client.pointer, topic, nil) else {
            throw KafkaError(rd_kafka_last_error(), message: "cannot create a handle for topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(handle) }
        var lastError = KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, message: "no metadata for topic \(topic)")
        while let left = milliseconds(until: deadline) {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.pointer, 0, handle, &metadata, left)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                lastError = KafkaError(err, message: "metadata for topic \(topic): \(cString(rd_kafka_err2str(err)))")
                continue
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
            if let entry = topics.first(where: { cString($0.topic) == topic }) {
                if entry.err == RD_KAFKA_RESP_ERR_NO_ERROR, entry.partition_cnt > 0 {
                    let partitions = UnsafeBufferPointer(start: entry.partitions, count: Int(entry.partition_cnt))
                    return partitions.map(\.id).sorted()
                }
                lastError = KafkaError(entry.err, message: "metadata for topic \(topic): \(cString(rd_kafka_err2str(entry.err)))")
            }
            // The topic may still be being created; ask again shortly.
            if let pause = milliseconds(until: deadline) {
                Thread.sleep(forTimeInterval: Double(min(pause, 50)) / 1000)
            }
        }
        throw lastError
    }

    private func assign(topic: String, partitions: [Int32], offsets: [Int32: Int64]) throws(KafkaError) {
        guard let list = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count)) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "cannot allocate a partition list")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions {
            let entry = rd_kafka_topic_partition_list_add(list, topic, partition)
            entry?.pointee.offset = offsets[partition] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        let err = rd_kafka_assign(client.pointer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, message: "cannot assign \(topic): \(cString(rd_kafka_err2str(err)))")
        }
    }

    private static func record(_ message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaRecord {
        let entry = message.pointee
        let key = entry.key.map { Array(UnsafeRawBufferPointer(start: $0, count: entry.key_len)) }
        let value = entry.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: entry.len)) } ?? []
        var headers: [(name: String, value: [UInt8])] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append((cString(name), headerValue))
                index += 1
            }
        }
        return KafkaRecord(
            topic: topic,
            partition: entry.partition,
            offset: entry.offset,
            key: key,
            value: value,
            headers: headers
        )
    }
}
