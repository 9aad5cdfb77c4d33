// Queued outbox rows as Kafka messages on a produce lane, shaped exactly as KafkaSink.deliver shapes them.
import Foundation
import RelayCore
import RelayKafka
import RelayOutbox

/// Produces queued rows into a ``KafkaProduceLane`` straight from the stored bytes: the value is the body,
/// the key the rendered key, the headers the CloudEvents attributes, `content-type` and the route's
/// headers, in ``KafkaSink``'s order (KafkaBulkDrainTests compares the two). Used by one thread at a time
/// (the outbox's reader, one chunk after another), hence `@unchecked Sendable`.
final class KafkaBulkEncoder: @unchecked Sendable {
    /// Why ``take(_:)`` refused a row: the drain either waits (the lane is full) or ends before it.
    enum Refusal: Equatable {
        case laneFull
        /// The message would exceed `message.max.bytes`; the scheduled path dead-letters it with its size.
        case oversized(deliveryID: Int64)
        /// librdkafka refused it; the scheduled path sends it and classifies the error.
        case refused(deliveryID: Int64, reason: String)
    }

    let lane: KafkaProduceLane
    /// Rung by the producer's poll thread after each batch of the lane's reports.
    private let reports: Doorbell
    private let maxMessageBytes: Int
    private(set) var refusal: Refusal?
    /// The rows' `ce_source` values and route headers.
    private var text = StoredRowText()

    /// The slots of the chunk being read (between ``beginChunk(limit:byteBudget:)`` and ``endChunk()``).
    private var chunk: KafkaLaneChunk?
    /// Bytes the chunk may produce (its first message goes regardless, so a large one still moves).
    private var byteBudget = 0

    init(lane: KafkaProduceLane, reports: Doorbell, maxMessageBytes: Int) {
        self.lane = lane
        self.reports = reports
        self.maxMessageBytes = maxMessageBytes
    }

    /// Returns when the lane has reports to take (at once if it has), after `timeout`, or on cancellation.
    func waitForReports(timeout: Duration) async {
        guard !lane.hasUnseenReports else { return }
        await reports.wait(timeout: timeout)
    }

    func clearRefusal() {
        refusal = nil
    }

    /// Reserves lane slots for the next read of up to `limit` rows and `byteBudget` bytes of messages;
    /// false when the lane has no slot free.
    func beginChunk(limit: Int, byteBudget: Int) -> Bool {
        chunk = lane.beginChunk(limit: limit)
        self.byteBudget = byteBudget
        return chunk != nil
    }

    func endChunk() {
        if let chunk { lane.endChunk(chunk) }
        chunk = nil
    }

    /// Produces `row`; false (with ``refusal`` set) when it was not produced.
    func take(_ row: QueuedRow) -> Bool {
        let source = text.sourceAttribute(of: row.source)
        // KafkaSink's estimate (value + key + header names and values + the record overhead), with the
        // stored header text for the route's headers: never less than their bytes, so a row that does not
        // fit this way is left to the scheduled path, which measures exactly.
        let size = row.body.count + (row.key?.count ?? 0) + KafkaSink.messageOverheadBytes
            + Self.fixedHeaderBytes + row.eventID.count + source.count + row.eventType.count
            + (row.subject.map { Self.subjectName.utf8CodeUnitCount + $0.count } ?? 0) + row.headerText.count
        guard size <= maxMessageBytes else {
            refusal = .oversized(deliveryID: row.deliveryID)
            return false
        }
        guard let used = chunk?.usedBytes, used == 0 || used + size <= byteBudget else {
            refusal = .laneFull
            return false
        }
        let enqueued = CloudEvents.withTimeBytes(secondsSince1970: row.receivedAt) { time in
            chunk!.produce(tag: row.deliveryID, stamp: row.receivedAt, size: size, key: row.key, value: row.body,
                           headerCount: 8) { writer in
                writeHeaders(row, source: source, time: time, into: writer)
            }
        }
        switch enqueued {
        case .queued:
            return true
        case .full:
            refusal = .laneFull
        case .refused(let error):
            refusal = .refused(deliveryID: row.deliveryID, reason: "\(error)")
        }
        return false
    }

    private func writeHeaders(_ row: QueuedRow, source: [UInt8], time: UnsafeRawBufferPointer, into writer: KafkaHeaderWriter) {
        Self.specVersion.withUnsafeBytes { writer.add("ce_specversion", $0) }
        writer.add("ce_id", row.eventID)
        source.withUnsafeBytes { writer.add("ce_source", $0) }
        writer.add("ce_type", row.eventType)
        if let subject = row.subject { writer.add(Self.subjectName, subject) }
        writer.add("ce_time", time)
        Self.contentType.withUnsafeBytes { writer.add("content-type", $0) }
        _ = text.forEachHeader(in: row.headerText) { name, value in
            writer.add(name, value)
            return true
        }
    }

    private static let specVersion = Array("1.0".utf8)
    private static let contentType = Array("application/json".utf8)
    private static let subjectName: StaticString = "ce_subject"
    /// Names and fixed values of the headers every message has: ce_specversion, ce_id, ce_source,
    /// ce_type, ce_time (24-byte value), content-type.
    private static let fixedHeaderBytes = "ce_specversion".utf8.count + specVersion.count + "ce_id".utf8.count
        + "ce_source".utf8.count + "ce_type".utf8.count + "ce_time".utf8.count + 24 + "content-type".utf8.count + contentType.count
}
