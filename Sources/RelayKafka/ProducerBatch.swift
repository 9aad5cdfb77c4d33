// One `send` call in flight: its messages, the reports collected so far, and who to wake at the end.

/// The messages of one ``KafkaProducer/send(_:)`` call and their delivery reports.
///
/// `@unchecked Sendable`: the caller builds it and hands it over through the producer's mutex;
/// from then on only the poll thread reads or writes it, until `complete()` hands the reports
/// to the waiting task.
final class ProducerBatch: @unchecked Sendable {
    let messages: [KafkaMessage]
    /// Slots not yet reported keep the "shut down before report" placeholder.
    private(set) var reports: [KafkaDeliveryReport]
    /// Messages without a report yet; the batch completes when this reaches zero.
    private(set) var remaining: Int
    /// Assigned by the poll thread; the high half of each message's opaque value.
    var id: UInt32 = 0
    private let continuation: CheckedContinuation<[KafkaDeliveryReport], Never>

    init(messages: [KafkaMessage], continuation: CheckedContinuation<[KafkaDeliveryReport], Never>) {
        self.messages = messages
        self.reports = Array(repeating: .failure(.shutDownBeforeReport), count: messages.count)
        self.remaining = messages.count
        self.continuation = continuation
    }

    /// Stores the report for message `index`; returns true when that was the last one missing.
    func record(_ report: KafkaDeliveryReport, at index: Int) -> Bool {
        reports[index] = report
        remaining -= 1
        return remaining == 0
    }

    /// Resumes the waiting `send` with every report (placeholders for those never reported).
    func complete() {
        let result = reports
        reports = []
        continuation.resume(returning: result)
    }

    /// Resumes the waiting `send` with `error` for every message: nothing was produced.
    func fail(with error: KafkaError) {
        continuation.resume(returning: Array(repeating: .failure(error), count: messages.count))
    }
}

extension KafkaError {
    /// A message librdkafka never reported on because the producer was shut down first.
    static let shutDownBeforeReport = KafkaError(
        code: KafkaError.Code.destroyed,
        name: "_DESTROY",
        message: "the producer shut down before the broker acknowledged this message",
        isRetriable: true,
        isFatal: false
    )

    /// A message handed to a producer that was already shut down.
    static let producerShutDown = KafkaError(
        code: KafkaError.Code.destroyed,
        name: "_DESTROY",
        message: "the producer is shut down; the message was not sent",
        isRetriable: true,
        isFatal: false
    )

    /// librdkafka's local queue is full (`queue.buffering.max.*`); the poll thread waits and retries.
    static let localQueueFull = KafkaError(
        code: KafkaError.Code.queueFull,
        name: "_QUEUE_FULL",
        message: "local producer queue is full",
        isRetriable: true,
        isFatal: false
    )
}
