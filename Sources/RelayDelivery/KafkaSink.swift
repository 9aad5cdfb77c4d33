// KafkaSink: delivers a batch to one Kafka topic as CloudEvents (binary mode) and maps delivery reports to outcomes.
import Logging
import RelayCore
import RelayKafka
import Synchronization

/// A Kafka destination (SPEC §6).
///
/// Each item becomes one message on the destination's topic: key = the rendered key (UTF-8, none
/// when nil), value = the event JSON verbatim, headers = CloudEvents binary-mode attributes with
/// Kafka's `ce_` prefix, `content-type: application/json`, then the route's rendered headers.
/// An item is `.delivered` only on its delivery report. A message over the producer's
/// `message.max.bytes` is not sent but dead-lettered with its size; permanent and fatal errors
/// are dead, the rest retry. With `deadLetterTopic` set, dead items are also produced there
/// (best effort).
package final class KafkaSink: Sink {
    /// Added to a message's key, value and header bytes to estimate its size on the wire
    /// (librdkafka's own record overhead is below this).
    package static let messageOverheadBytes = 100

    /// The destination's name in the routing table (used in reasons, logs and `relay_destination`).
    package let name: String
    package let destination: KafkaDestination
    package let maxBatchSize: Int
    package let maxConcurrentBatches: Int
    /// The producer's `message.max.bytes`: larger messages are dead-lettered without being sent.
    package let maxMessageBytes: Int

    private let clusters: KafkaClusters
    private let logger: Logger
    private let isShutDown = Atomic<Bool>(false)
    /// Batches are built in parallel but handed to the producer in the order `deliver` was called.
    private let handOver = TurnSequencer()

    /// Creates the sink and acquires its (possibly shared) producer from `clusters`; throws a
    /// ``KafkaError`` for an invalid producer configuration or `brokers` value.
    package init(
        name: String,
        destination: KafkaDestination,
        clusters: KafkaClusters,
        logger: Logger,
        maxBatchSize: Int = 5000,
        maxConcurrentBatches: Int = 4
    ) throws(KafkaError) {
        let producer = try clusters.acquireProducer(for: destination)
        producer.warmUp(topic: destination.topic)
        self.name = name
        self.destination = destination
        self.clusters = clusters
        self.maxBatchSize = maxBatchSize
        self.maxConcurrentBatches = maxConcurrentBatches
        self.maxMessageBytes = producer.configuration.maxMessageBytes
        var logger = logger
        logger[metadataKey: "destination"] = "\(name)"
        self.logger = logger
    }

    /// `deliver` takes its turn before it first suspends, builds its messages off the caller's thread, and
    /// hands them to the one idempotent producer in turn order: per partition, librdkafka keeps that order
    /// through its own retries, and a message that finally fails fails the ones behind it too.
    package var keepsSubmissionOrder: Bool { true }

    /// Down when the producer's last statistics report (at most 30 s old) showed no broker connected.
    package var health: String? {
        guard let producer = try? clusters.producer(for: destination), let status = producer.brokerStatus,
              ContinuousClock.now - status.reportedAt < .seconds(30), status.up == 0 else { return nil }
        return "Kafka cluster unreachable: 0 of \(status.total) brokers connected (\(producer.configuration.bootstrapServers))"
    }

    package func deliver(_ batch: [DeliveryItem]) async -> [DeliveryOutcome] {
        let turn = handOver.take()
        guard !batch.isEmpty else {
            await handOver.wait(for: turn)
            handOver.finish(turn)
            return []
        }
        // The dispatcher starts this on its own loop (to fix the turn); the building happens elsewhere,
        // a slice at a time, so a 5,000-message batch does not hold a pool thread for tens of ms.
        await Task.yield()
        var repeated = RepeatedHeaderValues()
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(batch.count)
        await PoolPacer.slices(of: batch.count) { range in
            for index in range { messages.append(message(for: batch[index], repeated: &repeated)) }
        }
        return await produce(messages, turn: turn)
    }

    /// One message per record: value = the record JSON, key = the record's key, headers
    /// `executionRef`, `fileIndex`, `recordIndex` and, for delta parts, `change` — what names the
    /// record. The export's own CloudEvents are `export.started` / `export.completed` (sent through
    /// ``deliver(_:)``); records carry no `ce_*` headers, which would multiply the per-message cost
    /// (librdkafka allocates every header) for attributes that are the same on every record.
    package func forward(_ batch: ExportRecordBatch) async -> [DeliveryOutcome] {
        guard !batch.records.isEmpty else { return [] }
        let executionRef = Array(batch.export.executionRef.rawValue.utf8)
        var fileIndex = (index: -1, bytes: [UInt8]())
        var messages: [KafkaMessage] = []
        messages.reserveCapacity(batch.records.count)
        for record in batch.records {
            // A batch's records nearly always share their file: its header value is made once.
            if record.fileIndex != fileIndex.index { fileIndex = (record.fileIndex, Self.decimal(Int64(record.fileIndex))) }
            var headers: [(name: String, value: [UInt8])] = [
                ("executionRef", executionRef),
                ("fileIndex", fileIndex.bytes),
                ("recordIndex", Self.decimal(record.recordIndex)),
            ]
            if let change = record.change { headers.append(("change", Array(change.utf8))) }
            if let profileID = record.profileID { headers.append(("profileId", Array(profileID.utf8))) }
            messages.append(KafkaMessage(topic: destination.topic, key: record.key.map { Array($0.utf8) }, value: record.value, headers: headers))
        }
        return await produce(messages)
    }

    /// ASCII digits of a non-negative number, without going through String.
    private static func decimal(_ value: Int64) -> [UInt8] {
        if value < 10 { return [UInt8(48 + value)] }
        var digits: [UInt8] = []
        var rest = value
        while rest > 0 {
            digits.append(UInt8(48 + rest % 10))
            rest /= 10
        }
        digits.reverse()
        return digits
    }

    /// Sends `messages` in order and maps their delivery reports (or their size) to outcomes. With a
    /// `turn`, the messages are handed to the producer only after every earlier turn's were.
    private func produce(_ messages: [KafkaMessage], turn: UInt64? = nil) async -> [DeliveryOutcome] {
        if let turn { await handOver.wait(for: turn) }
        var turnOpen = turn != nil
        let finishTurn = {
            if let turn, turnOpen {
                turnOpen = false
                self.handOver.finish(turn)
            }
        }
        let producer: KafkaProducer
        do {
            guard !isShutDown.load(ordering: .acquiring) else { throw Self.sinkShutDownError }
            producer = try clusters.producer(for: destination)
        } catch {
            finishTurn()
            let outcome = outcome(for: error)
            return messages.map { _ in outcome }
        }

        var outcomes = [DeliveryOutcome](repeating: .delivered, count: messages.count)
        var sending: [KafkaMessage] = []
        sending.reserveCapacity(messages.count)
        var sentIndices: [Int] = []
        sentIndices.reserveCapacity(messages.count)
        var oversized: [Int] = []
        for (index, message) in messages.enumerated() {
            let size = Self.approximateSize(of: message)
            if size > maxMessageBytes {
                outcomes[index] = .dead(reason: "kafka \(name): message of about \(size) bytes (value \(message.value.count) "
                    + "bytes plus key and headers) exceeds message.max.bytes \(maxMessageBytes); not sent")
                oversized.append(index)
            } else {
                sending.append(message)
                sentIndices.append(index)
            }
        }

        let reports = await producer.send(sending, onHandedOver: finishTurn)
        var dead: [(index: Int, message: KafkaMessage)] = []
        for (position, report) in reports.enumerated() {
            guard case .failure(let error) = report else { continue }
            let index = sentIndices[position]
            outcomes[index] = outcome(for: error)
            if case .dead = outcomes[index] { dead.append((index, sending[position])) }
        }
        logFailures(outcomes, oversized: oversized.count)

        if let deadLetterTopic = destination.deadLetterTopic, !(dead.isEmpty && oversized.isEmpty) {
            await publishDeadLetters(dead, oversized: oversized, outcomes: outcomes, to: deadLetterTopic, fallback: producer)
        }
        return outcomes
    }

    /// Releases this sink's hold on its producer: the last sink using a shared producer flushes
    /// and closes it (at most ``KafkaClusters/flushTimeout``). Later batches are answered
    /// `.retry`. Idempotent.
    package func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await clusters.releaseProducer(for: destination)
    }

    /// An encoder producing queued outbox rows straight into a lane on the destination's topic (the
    /// bulk drain); nil when the sink is shut down or its producer cannot be had (the scheduled path
    /// then reports why).
    func bulkEncoder(capacity: Int) -> KafkaBulkEncoder? {
        guard !isShutDown.load(ordering: .acquiring), let producer = try? clusters.producer(for: destination),
              producer.raisedFatalError == nil else { return nil }
        let reports = Doorbell()
        guard let lane = producer.openLane(topic: destination.topic, capacity: capacity, onReports: reports.ring) else { return nil }
        return KafkaBulkEncoder(lane: lane, reports: reports, maxMessageBytes: maxMessageBytes)
    }

    // MARK: - Messages

    /// The CloudEvents binary-mode message for `item` on the destination's topic: the attributes of
    /// ``CloudEvents/attributes(of:)``, in its order, as `ce_` headers (KafkaSinkTests holds the two
    /// together), `content-type`, then the route's headers. Built from bytes directly: this runs for
    /// every message.
    private func message(for item: DeliveryItem, repeated: inout RepeatedHeaderValues) -> KafkaMessage {
        var headers: [(name: String, value: [UInt8])] = []
        headers.reserveCapacity(7 + item.headers.count)
        headers.append(("ce_specversion", Self.specVersion))
        headers.append(("ce_id", Array(item.eventID.rawValue.utf8)))
        headers.append(("ce_source", repeated.source(item.source)))
        headers.append(("ce_type", repeated.type(item.eventType)))
        if let subject = item.subject { headers.append(("ce_subject", Array(subject.utf8))) }
        headers.append(("ce_time", CloudEvents.timeBytes(item.receivedAt)))
        headers.append(("content-type", item.contentType == "application/json" ? Self.contentType : Array(item.contentType.utf8)))
        for header in item.headers {
            headers.append((header.name, Array(header.value.utf8)))
        }
        return KafkaMessage(
            topic: destination.topic,
            key: item.key.map { Array($0.utf8) },
            value: item.body,
            headers: headers
        )
    }

    /// Header values that are the same for most messages of a batch, encoded once (arrays share storage).
    private struct RepeatedHeaderValues {
        private var lastSource: (name: String, bytes: [UInt8])?
        private var lastType: (name: String, bytes: [UInt8])?

        mutating func source(_ name: String) -> [UInt8] {
            if let lastSource, lastSource.name == name { return lastSource.bytes }
            let bytes = Array(CloudEvents.source(for: name).utf8)
            lastSource = (name, bytes)
            return bytes
        }

        mutating func type(_ type: String) -> [UInt8] {
            if let lastType, lastType.name == type { return lastType.bytes }
            let bytes = Array(type.utf8)
            lastType = (type, bytes)
            return bytes
        }
    }

    private static let specVersion = Array("1.0".utf8)

    /// Value + key + header names and values + ``messageOverheadBytes``.
    private static func approximateSize(of message: KafkaMessage) -> Int {
        var size = message.value.count + (message.key?.count ?? 0) + messageOverheadBytes
        for header in message.headers {
            size += header.name.utf8.count + header.value.count
        }
        return size
    }

    private static let contentType = Array("application/json".utf8)

    // MARK: - Outcomes

    private func outcome(for error: any Error) -> DeliveryOutcome {
        guard let error = error as? KafkaError else {
            return .retry(after: nil, reason: "kafka \(name): \(error)")
        }
        let reason = "kafka \(name): \(error.message) (\(error.name))"
        if error.isFatal || !error.isRetriable { return .dead(reason: reason) }
        return .retry(after: nil, reason: reason)
    }

    private func logFailures(_ outcomes: [DeliveryOutcome], oversized: Int) {
        let summary = OutcomeSummary(outcomes)
        guard let firstReason = summary.firstReason else { return }
        let metadata: Logger.Metadata = [
            "topic": "\(destination.topic)", "batch": "\(outcomes.count)", "retry": "\(summary.retries)",
            "dead": "\(summary.dead)", "oversized": "\(oversized)", "reason": "\(firstReason)",
        ]
        if summary.dead > 0 {
            logger.error("kafka deliveries dead-lettered", metadata: metadata)
        } else {
            logger.warning("kafka deliveries to retry", metadata: metadata)
        }
    }

    // MARK: - Dead-letter topic

    /// Produces every dead item to `topic` with `relay_dead_reason` and `relay_destination`
    /// headers. Best effort: failures and messages too large to fit are logged, outcomes stay.
    private func publishDeadLetters(
        _ dead: [(index: Int, message: KafkaMessage)],
        oversized: [Int],
        outcomes: [DeliveryOutcome],
        to topic: String,
        fallback: KafkaProducer
    ) async {
        var letters: [KafkaMessage] = []
        var tooLarge = 0
        for (index, message) in dead {
            guard case .dead(let reason) = outcomes[index] else { continue }
            var letter = message
            letter.topic = topic
            letter.headers.append(("relay_dead_reason", Array(reason.utf8)))
            letter.headers.append(("relay_destination", Array(name.utf8)))
            if Self.approximateSize(of: letter) > maxMessageBytes {
                tooLarge += 1
            } else {
                letters.append(letter)
            }
        }
        // An oversized item does not fit the dead-letter topic either (it only gains headers).
        tooLarge += oversized.count
        if tooLarge > 0 {
            logger.warning("dead items too large for the dead-letter topic; kept in the outbox only", metadata: [
                "deadLetterTopic": "\(topic)", "messages": "\(tooLarge)",
            ])
        }
        guard !letters.isEmpty else { return }
        // After a fatal error the producer is replaced; use the fresh one if there is one.
        let producer = (try? clusters.producer(for: destination)) ?? fallback
        let reports = await producer.send(letters)
        var failed = 0
        var firstError: KafkaError?
        for case .failure(let error) in reports {
            failed += 1
            if firstError == nil { firstError = error }
        }
        if let firstError {
            logger.error("cannot publish dead letters", metadata: [
                "deadLetterTopic": "\(topic)", "failed": "\(failed)", "of": "\(letters.count)", "error": "\(firstError)",
            ])
        }
    }

    private static let sinkShutDownError = KafkaError(
        code: KafkaError.Code.destroyed, name: "_DESTROY", message: "the Kafka sink is shut down",
        isRetriable: true, isFatal: false
    )
}
