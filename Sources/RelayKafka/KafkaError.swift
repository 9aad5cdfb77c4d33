// KafkaError: a librdkafka error code as a value, with one place that decides what is retriable.
import CRdKafka

/// An error from librdkafka or from this wrapper, carrying librdkafka's `rd_kafka_resp_err_t` code.
///
/// `isRetriable` answers whether sending the same message again later can succeed (broker or
/// network trouble, timeouts, shutdown); `isFatal` means the producer instance itself is unusable
/// (idempotence state lost) and must be recreated. A fatal error is never retriable on the same
/// producer.
package struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// The raw `rd_kafka_resp_err_t` value (negative: local librdkafka error, positive: broker error).
    package var code: Int32
    /// librdkafka's symbolic name of the code, e.g. `NOT_LEADER_FOR_PARTITION` or `_MSG_TIMED_OUT`.
    package var name: String
    /// Human-readable explanation.
    package var message: String
    /// Whether a later attempt with the same message may succeed.
    package var isRetriable: Bool
    /// Whether the producer that reported this error can no longer be used.
    package var isFatal: Bool

    package init(code: Int32, name: String, message: String, isRetriable: Bool, isFatal: Bool) {
        self.code = code
        self.name = name
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    package var description: String {
        let kind = isFatal ? "fatal" : (isRetriable ? "retriable" : "permanent")
        return "\(name) (\(code), \(kind)): \(message)"
    }

    /// Whether librdkafka code `code` is worth retrying, independent of any producer state.
    package static func isRetriable(code: Int32) -> Bool {
        retriableCodes.contains(code)
    }
}

extension KafkaError {
    /// Well-known `rd_kafka_resp_err_t` values, so callers and tests need not import librdkafka.
    package enum Code {
        package static let messageTimedOut = RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue
        package static let transport = RD_KAFKA_RESP_ERR__TRANSPORT.rawValue
        package static let allBrokersDown = RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue
        package static let timedOut = RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue
        package static let queueFull = RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue
        package static let unknownPartition = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue
        package static let unknownTopic = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue
        package static let invalidArgument = RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue
        package static let destroyed = RD_KAFKA_RESP_ERR__DESTROY.rawValue
        package static let purgedFromQueue = RD_KAFKA_RESP_ERR__PURGE_QUEUE.rawValue
        package static let purgedInFlight = RD_KAFKA_RESP_ERR__PURGE_INFLIGHT.rawValue
        package static let fatal = RD_KAFKA_RESP_ERR__FATAL.rawValue
        package static let invalidMessage = RD_KAFKA_RESP_ERR_INVALID_MSG.rawValue
        package static let unknownTopicOrPartition = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue
        package static let leaderNotAvailable = RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue
        package static let notLeaderForPartition = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue
        package static let requestTimedOut = RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue
        package static let messageSizeTooLarge = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
        package static let networkException = RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION.rawValue
        package static let notEnoughReplicas = RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue
        package static let topicAuthorizationFailed = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue
        package static let clusterAuthorizationFailed = RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue
        package static let invalidRecord = RD_KAFKA_RESP_ERR_INVALID_RECORD.rawValue
    }

    /// Kafka protocol API keys used with ``KafkaMockCluster/pushRequestErrors(apiKey:errors:)``.
    package enum APIKey {
        package static let produce: Int16 = 0
        package static let fetch: Int16 = 1
        package static let listOffsets: Int16 = 2
        package static let metadata: Int16 = 3
        package static let initProducerID: Int16 = 22
    }
}

/// Codes that describe a passing condition: the broker or network may recover, or the message
/// was never written (timed out, purged at shutdown). Everything else (size, authorization,
/// invalid records, unknown partition, configuration, fatal idempotence errors) is permanent.
private let retriableCodes: Set<Int32> = Set([
    RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR__FAIL, RD_KAFKA_RESP_ERR__TRANSPORT,
    RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
    RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL,
    RD_KAFKA_RESP_ERR__ISR_INSUFF, RD_KAFKA_RESP_ERR__NODE_UPDATE, RD_KAFKA_RESP_ERR__WAIT_COORD,
    RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR__WAIT_CACHE, RD_KAFKA_RESP_ERR__INTR,
    RD_KAFKA_RESP_ERR__RETRY, RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
    RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
    RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
    RD_KAFKA_RESP_ERR_LISTENER_NOT_FOUND, RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH,
    RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH, RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
    RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED,
].map(\.rawValue))

extension KafkaError {
    /// An error for librdkafka code `err`, described by librdkafka unless `message` is given.
    init(_ err: rd_kafka_resp_err_t, message: String? = nil, isFatal: Bool = false) {
        let fatal = isFatal || err == RD_KAFKA_RESP_ERR__FATAL
        self.init(
            code: err.rawValue,
            name: cString(rd_kafka_err2name(err)),
            message: message ?? cString(rd_kafka_err2str(err)),
            isRetriable: !fatal && retriableCodes.contains(err.rawValue),
            isFatal: fatal
        )
    }

    /// Takes over and destroys a `rd_kafka_error_t`.
    init(consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let fatal = rd_kafka_error_is_fatal(error) != 0
        self.init(code, message: cString(rd_kafka_error_string(error)), isFatal: fatal)
    }

    /// A configuration problem found by this wrapper or by `rd_kafka_conf_set`.
    static func invalidConfiguration(_ message: String) -> KafkaError {
        KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: message)
    }
}

/// Decodes a NUL-terminated C string librdkafka owns; an absent string becomes "".
func cString(_ pointer: UnsafePointer<CChar>?) -> String {
    guard let pointer else { return "" }
    return String(cString: pointer)
}

/// Decodes an error buffer that librdkafka filled, up to its first NUL.
func decodeErrorBuffer(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
