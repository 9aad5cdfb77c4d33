// The values that cross the producer and reader API: messages out, delivery reports and records in.

/// One message to produce.
public struct KafkaMessage: Sendable {
    public var topic: String
    /// The key; `nil` produces a message without a key (the partitioner then spreads messages).
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]
    /// A fixed partition, or `nil` to let the configured partitioner choose by key.
    public var partition: Int32?

    public init(
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
public struct KafkaDelivered: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// librdkafka's final word on one message: acknowledged with its position, or failed.
public typealias KafkaDeliveryReport = Result<KafkaDelivered, KafkaError>

/// A message read back from a topic.
public struct KafkaRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [(name: String, value: [UInt8])]

    public init(
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
