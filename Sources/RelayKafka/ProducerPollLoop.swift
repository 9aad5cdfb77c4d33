// The producer's dedicated thread: enqueues submitted batches, serves delivery reports, flushes at stop.
import CRdKafka
import Logging

/// Everything that runs on a producer's poll thread. All blocking librdkafka calls
/// (`rd_kafka_queue_poll`) happen here, and so do all enqueues, so batch bookkeeping needs no lock.
///
/// Each message's opaque value is `batch id << 32 | index`, so a delivery report finds its slot
/// without any per-message allocation.
final class ProducerPollLoop {
    private static let argumentCapacity = 8
    private static let reportCapacity = 1024
    /// How long to let librdkafka drain its queue before retrying an enqueue that found it full.
    private static let queueFullPollMilliseconds: Int32 = 10
    /// After a purge at shutdown, how long to wait for the purged messages' reports.
    private static let purgeGrace: Duration = .seconds(5)

    private let core: ProducerCore
    private let queue: RdKafkaQueue
    private let handle: OpaquePointer
    private let logger: Logger
    private let maxMessageBytes: Int

    private var inflight: [UInt32: ProducerBatch] = [:]
    private var lastBatch: ProducerBatch?
    private var nextBatchID: UInt32 = 0
    private var topics: [String: OpaquePointer] = [:]
    private var lastTopic: (name: String, handle: OpaquePointer)?
    private var errorCache: [Int32: KafkaError] = [:]
    /// Reports of one event for the lane they belong to, handed over together.
    private var laneReports: [(sequence: UInt32, error: rd_kafka_resp_err_t)] = []
    private var currentLane: KafkaProduceLane?
    private var raisedFatal: KafkaError?

    /// Reused `rd_kafka_produceva` argument array.
    private let arguments: UnsafeMutablePointer<rd_kafka_vu_t>
    /// Reused target of `rd_kafka_event_message_array`.
    private let reportBuffer: UnsafeMutablePointer<UnsafePointer<rd_kafka_message_t>?>

    init(core: ProducerCore, queue: RdKafkaQueue, maxMessageBytes: Int, logger: Logger) {
        self.core = core
        self.queue = queue
        self.handle = queue.client.pointer
        self.maxMessageBytes = maxMessageBytes
        self.logger = logger
        arguments = .allocate(capacity: Self.argumentCapacity)
        arguments.initialize(repeating: rd_kafka_vu_t(), count: Self.argumentCapacity)
        reportBuffer = .allocate(capacity: Self.reportCapacity)
        reportBuffer.initialize(repeating: nil, count: Self.reportCapacity)
    }

    deinit {
        for topic in topics.values { rd_kafka_topic_destroy(topic) }
        arguments.deallocate()
        reportBuffer.deallocate()
    }

    /// Runs until a stop is requested and the flush is over. Returns on the same thread.
    func run() {
        while true {
            let work = core.takeWork()
            for batch in work.batches { start(batch) }
            if let deadline = work.stopDeadline {
                drain(until: deadline)
                break
            }
            // Returns early on new work (the queue is woken) or when reports arrive.
            serve(timeoutMilliseconds: 1000)
        }
        core.detachQueue()
    }

    // MARK: - Enqueueing

    private func start(_ batch: ProducerBatch) {
        batch.id = allocateBatchID()
        inflight[batch.id] = batch
        let batchBits = UInt(batch.id) << 32
        for index in batch.messages.indices {
            guard index <= Int(UInt32.max) else {
                record(.failure(KafkaError(RD_KAFKA_RESP_ERR__INVALID_ARG, message: "batch too large")), batch, index)
                continue
            }
            let opaque = UnsafeMutableRawPointer(bitPattern: batchBits | UInt(index))
            while true {
                guard let error = produce(batch.messages[index], opaque: opaque) else { break }
                if error.code == KafkaError.Code.queueFull, !stopDeadlinePassed() {
                    serve(timeoutMilliseconds: Self.queueFullPollMilliseconds)
                    continue
                }
                record(.failure(error), batch, index)
                break
            }
        }
    }

    private func allocateBatchID() -> UInt32 {
        repeat {
            nextBatchID &+= 1
        } while nextBatchID == 0 || inflight[nextBatchID] != nil
        return nextBatchID
    }

    private func stopDeadlinePassed() -> Bool {
        guard let deadline = core.stopDeadline else { return false }
        return ContinuousClock.now >= deadline
    }

    /// Enqueues one message with `rd_kafka_produceva`; returns why librdkafka refused it.
    private func produce(_ message: KafkaMessage, opaque: UnsafeMutableRawPointer?) -> KafkaError? {
        guard let topic = topicHandle(message.topic) else {
            return KafkaError(rd_kafka_last_error(), message: "cannot create a handle for topic \(message.topic)")
        }
        arguments[0].vtype = RD_KAFKA_VTYPE_RKT
        arguments[0].u.rkt = topic
        arguments[1] = .copyFlag
        arguments[2] = .opaque(opaque)
        var count = 3
        if let partition = message.partition {
            arguments[count].vtype = RD_KAFKA_VTYPE_PARTITION
            arguments[count].u.i32 = partition
            count += 1
        }
        var headers: OpaquePointer?
        if !message.headers.isEmpty {
            guard let list = makeHeaders(message.headers) else {
                return KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "cannot allocate a header list")
            }
            headers = list
            arguments[count] = .headers(list)
            count += 1
        }
        let error: OpaquePointer? = message.value.withUnsafeBytes { value in
            arguments[count] = .bytes(RD_KAFKA_VTYPE_VALUE, value)
            guard let key = message.key else {
                return rd_kafka_produceva(handle, arguments, count + 1)
            }
            return key.withUnsafeBytes { key in
                arguments[count + 1] = .bytes(RD_KAFKA_VTYPE_KEY, key)
                return rd_kafka_produceva(handle, arguments, count + 2)
            }
        }
        guard let error else { return nil }
        // On failure the headers list stays ours.
        if let headers { rd_kafka_headers_destroy(headers) }
        switch rd_kafka_error_code(error) {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            rd_kafka_error_destroy(error)
            return .localQueueFull
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
            var tooLarge = KafkaError(consuming: error)
            tooLarge.message = "message of \(message.value.count) value bytes (plus key and headers) "
                + "exceeds message.max.bytes=\(maxMessageBytes); librdkafka: \(tooLarge.message)"
            return tooLarge
        default:
            return KafkaError(consuming: error)
        }
    }

    /// A new `rd_kafka_headers_t` (owned by the caller until a successful produce).
    private func makeHeaders(_ headers: [(name: String, value: [UInt8])]) -> OpaquePointer? {
        guard let list = rd_kafka_headers_new(headers.count) else { return nil }
        let emptyName = UnsafePointer(ProduceArgumentEmpty.byte.assumingMemoryBound(to: CChar.self))
        for header in headers {
            var name = header.name
            name.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { name in
                    header.value.withUnsafeBytes { value in
                        _ = rd_kafka_header_add(
                            list,
                            name.baseAddress ?? emptyName,
                            name.count,
                            value.baseAddress ?? UnsafeRawPointer(ProduceArgumentEmpty.byte),
                            value.count
                        )
                    }
                }
            }
        }
        return list
    }

    private func topicHandle(_ name: String) -> OpaquePointer? {
        if let lastTopic, lastTopic.name == name { return lastTopic.handle }
        if let existing = topics[name] {
            lastTopic = (name, existing)
            return existing
        }
        guard let created = rd_kafka_topic_new(handle, name, nil) else { return nil }
        topics[name] = created
        lastTopic = (name, created)
        return created
    }

    // MARK: - Reports

    /// Waits up to `timeoutMilliseconds` for an event, then handles what is ready without waiting.
    private func serve(timeoutMilliseconds: Int32) {
        var timeout = timeoutMilliseconds
        for _ in 0..<256 {
            guard let event = rd_kafka_queue_poll(queue.pointer, timeout) else { return }
            dispatch(event: event)
            rd_kafka_event_destroy(event)
            timeout = 0
        }
    }

    private func dispatch(event: OpaquePointer) {
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_DR:
            while true {
                let count = rd_kafka_event_message_array(event, reportBuffer, Self.reportCapacity)
                guard count > 0 else { break }
                for position in 0..<count {
                    if let message = reportBuffer[position] { deliver(message) }
                }
                flushLaneReports()
            }
        case RD_KAFKA_EVENT_ERROR:
            handleError(event: event)
        case RD_KAFKA_EVENT_STATS:
            if let status = KafkaBrokerStatus(statisticsJSON: cString(rd_kafka_event_stats(event))) {
                core.recordBrokerStatus(status)
            }
        default:
            break
        }
    }

    private func deliver(_ message: UnsafePointer<rd_kafka_message_t>) {
        let bits = UInt(bitPattern: message.pointee._private)
        let id = UInt32(truncatingIfNeeded: bits >> 32)
        let index = Int(bits & 0xFFFF_FFFF)
        if id & 0x8000_0000 != 0 {
            deliverToLane(id, sequence: UInt32(truncatingIfNeeded: index), error: message.pointee.err)
            return
        }
        guard let batch = batch(for: id), index < batch.messages.count else {
            logger.error("delivery report for an unknown message", metadata: ["opaque": "\(bits)"])
            return
        }
        let err = message.pointee.err
        if err == RD_KAFKA_RESP_ERR_NO_ERROR {
            let delivered = KafkaDelivered(partition: message.pointee.partition, offset: message.pointee.offset)
            record(.success(delivered), batch, index)
        } else {
            record(.failure(deliveryError(err)), batch, index)
        }
    }

    /// Collects a lane message's report; a closed lane's reports are dropped (its owner stopped caring).
    private func deliverToLane(_ id: UInt32, sequence: UInt32, error: rd_kafka_resp_err_t) {
        if let currentLane, currentLane.id != id { flushLaneReports() }
        if currentLane == nil {
            guard let lane = core.lane(id) else { return }
            currentLane = lane
        }
        laneReports.append((sequence, error))
    }

    private func flushLaneReports() {
        guard let lane = currentLane else { return }
        currentLane = nil
        laneReports.withUnsafeBufferPointer { reports in
            lane.record(reports) { self.deliveryError($0) }
        }
        laneReports.removeAll(keepingCapacity: true)
    }

    private func batch(for id: UInt32) -> ProducerBatch? {
        if let lastBatch, lastBatch.id == id { return lastBatch }
        let found = inflight[id]
        lastBatch = found
        return found
    }

    private func record(_ report: KafkaDeliveryReport, _ batch: ProducerBatch, _ index: Int) {
        guard batch.record(report, at: index) else { return }
        inflight[batch.id] = nil
        if lastBatch === batch { lastBatch = nil }
        batch.complete()
    }

    private func deliveryError(_ err: rd_kafka_resp_err_t) -> KafkaError {
        if let fatal = raisedFatal ?? client.raisedFatalError() {
            noteFatal(fatal)
            return fatal
        }
        if let cached = errorCache[err.rawValue] { return cached }
        let error = KafkaError(err)
        errorCache[err.rawValue] = error
        return error
    }

    private var client: RdKafkaClient { queue.client }

    private func noteFatal(_ error: KafkaError) {
        guard raisedFatal == nil else { return }
        raisedFatal = error
        core.recordFatalError(error)
        logger.critical("producer fatal error; it must be recreated", metadata: ["error": "\(error)"])
    }

    private func handleError(event: OpaquePointer) {
        let err = rd_kafka_event_error(event)
        let text = cString(rd_kafka_event_error_string(event))
        if rd_kafka_event_error_is_fatal(event) != 0 {
            noteFatal(client.raisedFatalError() ?? KafkaError(err, message: text, isFatal: true))
            return
        }
        let error = KafkaError(err, message: text)
        if error.isRetriable {
            logger.warning("producer error", metadata: ["error": "\(error)"])
        } else {
            logger.error("producer error", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Shutdown

    /// Serves reports until every batch is complete or `deadline` passes; then purges what is
    /// left so every waiting `send` returns.
    private func drain(until deadline: ContinuousClock.Instant) {
        while !inflight.isEmpty || core.laneOutstanding > 0, let remaining = milliseconds(until: deadline) {
            serve(timeoutMilliseconds: min(100, remaining))
        }
        guard !inflight.isEmpty || core.laneOutstanding > 0 else { return }
        let undelivered = inflight.values.reduce(0) { $0 + $1.remaining }
        logger.warning("flush timed out; purging undelivered messages", metadata: ["messages": "\(undelivered)"])
        rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        let purgeDeadline = ContinuousClock.now.advanced(by: Self.purgeGrace)
        while !inflight.isEmpty, let remaining = milliseconds(until: purgeDeadline) {
            serve(timeoutMilliseconds: min(100, remaining))
        }
        for batch in inflight.values { batch.complete() }
        inflight.removeAll()
        lastBatch = nil
    }
}
