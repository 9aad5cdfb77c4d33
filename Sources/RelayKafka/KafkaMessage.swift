// The values that cross the producer and reader API: messages out, delivery reports and records in.

/// One message to produce.
package struct KafkaMessage: Sendable {
    package var topic: String
    /// The key; `nil` produces a message without a key (the partitioner then spreads messages).
    package var key: [UInt8]?
    package var value: [UInt8]
    package var headers: [(name: String, value: [UInt8])]
    /// A fixed partition, or `nil` to let the configured partitioner choose by key.
    package var partition: Int32?

    package init(
        topic: String,
        key: [UInt8]? = nil,
        value: [UInt8],
        headers: [(name: String, value: [UInt8])] = [],
        partition: Int32? = nil
    ) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }
}

/// Where the broker stored a message it acknowledged.
package struct KafkaDelivered: Sendable, Hashable {
    package var partition: Int32
    package var offset: Int64

    package init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// librdkafka's final word on one message: acknowledged with its position, or failed.
package typealias KafkaDeliveryReport = Result<KafkaDelivered, KafkaError>

/// A message read back from a topic.
package struct KafkaRecord: Sendable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    package var key: [UInt8]?
    package var value: [UInt8]
    package var headers: [(name: String, value: [UInt8])]

    package init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]?,
        value: [UInt8],
        headers: [(name: String, value: [UInt8])]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
    }
}
