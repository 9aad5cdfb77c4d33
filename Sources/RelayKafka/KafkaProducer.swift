// KafkaProducer: the package idempotent producer — batches in, one delivery report per message out.
import CRdKafka
import Foundation
import Logging

/// An idempotent librdkafka producer.
///
/// Every blocking librdkafka call runs on one dedicated thread per producer; `send` suspends
/// (one continuation per call) until librdkafka has reported on every message of the call.
package final class KafkaProducer: Sendable {
    package let configuration: KafkaProducerConfiguration
    private let core: ProducerCore
    /// The librdkafka handle, for lanes producing from their own thread; valid while ``ProducerCore``
    /// lets them in (`enterLaneProduce`).
    private nonisolated(unsafe) let handle: OpaquePointer

    /// Creates the librdkafka producer and starts its poll thread.
    /// Throws a non-retriable ``KafkaError`` for an invalid configuration.
    package init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let conf = RdKafkaConfiguration()
        for (name, value) in configuration.effectiveProperties {
            try conf.set(name, value)
        }
        conf.enableEvents(RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR | RD_KAFKA_EVENT_STATS)
        let client = try RdKafkaClient(type: RD_KAFKA_PRODUCER, configuration: conf, logger: logger)
        guard let queue = RdKafkaQueue(mainQueueOf: client) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__FAIL, message: "librdkafka returned no main queue")
        }
        let core = ProducerCore(wakeQueue: queue)
        let handoff = Handoff(ProducerPollLoop(
            core: core, queue: queue, maxMessageBytes: configuration.maxMessageBytes, logger: logger
        ))
        let thread = Thread {
            // The loop (and with it librdkafka's handle) is released on this thread.
            if let loop = handoff.take() { loop.run() }
            core.markFinished()
        }
        thread.name = "rdkafka-producer"
        thread.start()
        self.configuration = configuration
        self.core = core
        self.handle = client.pointer
    }

    deinit {
        // No `send` can be waiting (each one keeps the producer alive), so nothing is left to flush.
        core.requestStop(flushTimeout: .zero)
    }

    /// Produces every message and returns, in the same order, one delivery report per message,
    /// once librdkafka has reported each.
    ///
    /// A message that cannot be enqueued (too large, unknown partition) gets its error report at
    /// once; a full local queue is waited out, not reported. After ``shutdown(flushTimeout:)``
    /// every message is reported as a retriable `_DESTROY` error. Task cancellation does not cut
    /// the wait short: messages handed to librdkafka are reported on all the same.
    ///
    /// `onHandedOver` runs once the messages are queued for the poll thread (which enqueues batches in
    /// the order they were handed over), or refused, and before the reports are awaited.
    package func send(_ messages: [KafkaMessage], onHandedOver: () -> Void = {}) async -> [KafkaDeliveryReport] {
        guard !messages.isEmpty else {
            onHandedOver()
            return []
        }
        return await withCheckedContinuation { continuation in
            let batch = ProducerBatch(messages: messages, continuation: continuation)
            let submitted = core.submit(batch)
            onHandedOver()
            if !submitted { batch.fail(with: .producerShutDown) }
        }
    }

    /// A lane producing into `topic` from the caller's thread, at most `capacity` messages outstanding
    /// (rounded up to a power of two); `onReports` runs on the poll thread after each batch of the lane's
    /// reports (the owner's wake-up). Nil once the producer is stopping.
    package func openLane(topic: String, capacity: Int, onReports: @escaping @Sendable () -> Void) -> KafkaProduceLane? {
        core.openLane { id in
            KafkaProduceLane(id: id, topic: topic, capacity: capacity, producer: self, core: core, handle: handle, onReports: onReports)
        }
    }

    /// Asks the cluster for `topic`'s metadata now, on a thread of its own, so the first message to it
    /// does not wait for librdkafka's once-a-second scan of unknown topics (a backlog drained at
    /// start-up waited a full second for its first delivery report). Best effort: failures are ignored.
    package func warmUp(topic: String) {
        Thread { [self] in
            guard core.beginHandleUse() else { return }
            defer { core.endHandleUse() }
            guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else { return }
            defer { rd_kafka_topic_destroy(topicHandle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            if rd_kafka_metadata(handle, 0, topicHandle, &metadata, 2_000) == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata {
                rd_kafka_metadata_destroy(metadata)
            }
        }.start()
    }

    /// Flushes outstanding messages (up to `flushTimeout`; what is left is purged and reported
    /// as retriable errors), stops the poll thread and destroys the librdkafka handle.
    /// Blocks the calling thread until that is done; idempotent.
    package func shutdown(flushTimeout: Duration) {
        core.requestStop(flushTimeout: flushTimeout)
        core.waitUntilFinished()
    }

    /// ``shutdown(flushTimeout:)`` without blocking a thread: suspends until the poll thread is done.
    package func shutdownGracefully(flushTimeout: Duration) async {
        core.requestStop(flushTimeout: flushTimeout)
        await core.finished()
    }

    /// The fatal error raised on this producer, if any. A producer with a fatal error fails every
    /// message; the owner should shut it down and create a new one.
    package var raisedFatalError: KafkaError? {
        core.fatalError
    }

    /// How many of the cluster's brokers were connected at the last statistics report (every
    /// `statistics.interval.ms`, 5 s by default); nil before the first one.
    package var brokerStatus: KafkaBrokerStatus? {
        core.brokerStatus
    }
}
