// Owners of librdkafka's C objects (configuration, client handle, queue) and its log routing.
import CRdKafka
import Logging
import Synchronization

/// A `rd_kafka_conf_t` until `rd_kafka_new` takes it over; destroyed here otherwise.
final class RdKafkaConfiguration {
    private(set) var pointer: OpaquePointer?

    init() {
        pointer = rd_kafka_conf_new()
    }

    deinit {
        if let pointer { rd_kafka_conf_destroy(pointer) }
    }

    func set(_ name: String, _ value: String) throws(KafkaError) {
        guard let pointer else { return }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let result = rd_kafka_conf_set(pointer, name, value, &errorBuffer, errorBuffer.count)
        guard result == RD_KAFKA_CONF_OK else {
            throw .invalidConfiguration("property \(name)=\(value): \(decodeErrorBuffer(errorBuffer))")
        }
    }

    /// Selects which results librdkafka posts as events on the main queue (`RD_KAFKA_EVENT_*` bits).
    func enableEvents(_ events: Int32) {
        guard let pointer else { return }
        rd_kafka_conf_set_events(pointer, events)
    }

    /// Hands the configuration to librdkafka, which owns it from then on.
    fileprivate func release() {
        pointer = nil
    }
}

/// Receives librdkafka's log lines (from any of its threads) and passes them to a swift-log Logger.
final class RdKafkaLogSink: Sendable {
    let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func log(level: Int32, facility: String, message: String) {
        logger.log(
            level: Self.level(syslog: level),
            "\(message)",
            metadata: ["rdkafka.facility": .string(facility)]
        )
    }

    /// librdkafka logs with syslog levels: 0 emergency … 7 debug.
    static func level(syslog: Int32) -> Logger.Level {
        switch syslog {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}

/// Owns one `rd_kafka_t` handle and destroys it in deinit.
///
/// `@unchecked Sendable`: the pointer never changes and librdkafka's client API is thread-safe;
/// which thread runs the blocking calls is decided by the owners of this handle.
final class RdKafkaClient: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The log callback's target; kept alive as long as the handle, since the handle points to it.
    private let logSink: RdKafkaLogSink
    private let isConsumer: Bool

    /// Creates a client of `type` from `configuration`, routing its logs into `logger`.
    init(type: rd_kafka_type_t, configuration: RdKafkaConfiguration, logger: Logger) throws(KafkaError) {
        guard let conf = configuration.pointer else {
            throw .invalidConfiguration("configuration already used")
        }
        let sink = RdKafkaLogSink(logger: logger)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(sink).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, line in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            Unmanaged<RdKafkaLogSink>.fromOpaque(opaque).takeUnretainedValue()
                .log(level: level, facility: cString(facility), message: cString(line))
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            throw .invalidConfiguration(decodeErrorBuffer(errorBuffer))
        }
        configuration.release()
        pointer = handle
        logSink = sink
        isConsumer = type == RD_KAFKA_CONSUMER
    }

    deinit {
        if isConsumer { rd_kafka_consumer_close(pointer) }
        rd_kafka_destroy(pointer)
    }

    /// The fatal error raised on this handle, if any (idempotent producer state lost).
    func raisedFatalError() -> KafkaError? {
        // Cheap check first: no buffer, no copy.
        guard rd_kafka_fatal_error(pointer, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(pointer, &errorBuffer, errorBuffer.count)
        return KafkaError(code, message: decodeErrorBuffer(errorBuffer), isFatal: true)
    }
}

/// Owns a reference to a client's main (reply) queue: where delivery reports and errors arrive.
///
/// `@unchecked Sendable`: librdkafka queues are thread-safe; `wake()` is meant for other threads.
final class RdKafkaQueue: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Keeps the client alive while the queue exists: the queue must be destroyed first.
    let client: RdKafkaClient

    init?(mainQueueOf client: RdKafkaClient) {
        guard let queue = rd_kafka_queue_get_main(client.pointer) else { return nil }
        pointer = queue
        self.client = client
    }

    deinit {
        rd_kafka_queue_destroy(pointer)
    }

    /// Makes a current or the next `rd_kafka_queue_poll` on this queue return at once.
    func wake() {
        rd_kafka_queue_yield(pointer)
    }
}

/// A value handed from one thread to another exactly once.
final class Handoff<Value>: Sendable {
    private let slot: Mutex<Value?>

    init(_ value: sending Value) {
        slot = Mutex(value)
    }

    func take() -> sending Value? {
        slot.withLock { value in
            let taken = value.take()
            return taken
        }
    }
}
