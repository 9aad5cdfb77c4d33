// Reads the demo's two topics back from the embedded Kafka, on a thread of its own, counting what arrived.
import Foundation
import Logging
import RelayKafka
import Synchronization

/// What has arrived on the demo's topics so far.
struct DemoTally: Sendable, Equatable {
    var notifications = 0
    var records = 0
    var started = false
    var completed = false
    /// The body of an `export.failed` event, if the export was dead-lettered.
    var failed: String?

    func isComplete(expectedRecords: Int) -> Bool {
        notifications >= 1 && records >= expectedRecords && started && completed
    }
}

/// Follows `demo.notifications` and `demo.records` with a ``KafkaReader`` (blocking, so on its own
/// thread, never the cooperative pool), resuming each read after the last offset seen per partition.
final class DemoWatcher: Sendable {
    private let bootstrap: String
    private let expectedRecords: Int
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    /// The shortest time between two progress reports.
    static let progressInterval: Duration = .milliseconds(300)

    init(bootstrap: String, expectedRecords: Int, logger: Logger) {
        self.bootstrap = bootstrap
        self.expectedRecords = expectedRecords
        self.logger = logger
    }

    /// Ends ``watch(until:progress:)`` after its current read (shutdown, Ctrl-C).
    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    /// Reads until everything expected arrived, an `export.failed` arrived, ``stop()`` or `deadline`.
    /// `progress` gets the tally when it changed, at most every ``progressInterval`` (and once at the end).
    /// Returns the tally and the last read error other than a timeout, if any.
    func watch(until deadline: ContinuousClock.Instant,
               progress: @escaping @Sendable (DemoTally) -> Void) async -> (tally: DemoTally, lastError: String?) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.readLoop(until: deadline, progress: progress)) }
            thread.name = "demo-reader"
            thread.start()
        }
    }

    private func readLoop(until deadline: ContinuousClock.Instant,
                          progress: (DemoTally) -> Void) -> (tally: DemoTally, lastError: String?) {
        var tally = DemoTally()
        let reader: KafkaReader
        do {
            reader = try KafkaReader(bootstrapServers: bootstrap, logger: logger)
        } catch {
            return (tally, "cannot read from the embedded Kafka: \(error)")
        }
        var lastError: String?
        var offsets: [String: [Int32: Int64]] = [:]
        var reported = tally
        var lastReport = ContinuousClock.now - Self.progressInterval
        while !stopped.load(ordering: .relaxed), !tally.isComplete(expectedRecords: expectedRecords), tally.failed == nil {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var readAny = false
            for topic in [DemoRoutes.notificationsTopic, DemoRoutes.recordsTopic] {
                do {
                    // A topic nothing was written to yet has no metadata: that read times out, the loop goes on.
                    let batch = try reader.read(topic: topic, offsets: offsets[topic] ?? [:], maxMessages: 50_000,
                                                timeout: min(left, .milliseconds(500)))
                    for record in batch {
                        offsets[topic, default: [:]][record.partition] = record.offset + 1
                        Self.count(record, into: &tally)
                    }
                    readAny = readAny || !batch.isEmpty
                } catch where error.code == KafkaError.Code.timedOut {
                    continue
                } catch {
                    lastError = "\(topic): \(error)"
                }
            }
            if tally != reported, ContinuousClock.now - lastReport >= Self.progressInterval {
                progress(tally)
                (reported, lastReport) = (tally, .now)
            }
            if !readAny { Thread.sleep(forTimeInterval: 0.05) }
        }
        if tally != reported { progress(tally) }
        return (tally, lastError)
    }

    /// A message on `demo.notifications` is the notification; on `demo.records` a message with a
    /// `ce_type` header is a framing event (`…audience-export.started` / `.completed` / `.failed`),
    /// any other is a record.
    static func count(_ record: KafkaRecord, into tally: inout DemoTally) {
        if record.topic == DemoRoutes.notificationsTopic {
            tally.notifications += 1
            return
        }
        guard let type = record.headers.first(where: { $0.name == "ce_type" }).map({ String(decoding: $0.value, as: UTF8.self) }) else {
            tally.records += 1
            return
        }
        if type.hasSuffix(".started") {
            tally.started = true
        } else if type.hasSuffix(".completed") {
            tally.completed = true
        } else if type.hasSuffix(".failed") {
            tally.failed = String(decoding: record.value, as: UTF8.self)
        }
    }
}
