// What the Kafka and HTTP bulk drains share: their reads (a destination's queued rows batch after batch, the
// next read running while the current batch is sent), the write of their cursor and their last log line.
import Foundation
import Logging
import RelayOutbox

/// Reads of one bulk drain. Each batch holds at most ``rowsPerRead`` rows and about ``bytesPerRead`` bytes
/// of copied columns; taking one starts the read of the next, so the store reads while the drain sends.
struct QueuedBatchReads {
    static let rowsPerRead = 2_000
    static let bytesPerRead = 4 << 20

    let reader: any QueuedRowReader
    let destination: String
    /// The read after the last batch taken (nil once a read reached the end, or before the first).
    private var next: Task<Result<QueuedRowBatch, any Error>, Never>?

    init(reader: any QueuedRowReader, destination: String) {
        self.reader = reader
        self.destination = destination
    }

    /// The batch after `afterID` (the last row of the previous batch; read ahead already unless this is the first).
    mutating func take(after afterID: Int64) async -> Result<QueuedRowBatch, any Error> {
        let read = next ?? start(after: afterID)
        next = nil
        let result = await read.value
        if case .success(let batch) = result, !batch.reachedEnd, !batch.isEmpty {
            next = start(after: batch.deliveryID(at: batch.count - 1))
        }
        return result
    }

    /// Abandons the read ahead, waiting for it to end.
    mutating func cancel() async {
        guard let next else { return }
        next.cancel()
        _ = await next.value
        self.next = nil
    }

    private func start(after afterID: Int64) -> Task<Result<QueuedRowBatch, any Error>, Never> {
        let (reader, destination) = (self.reader, self.destination)
        return Task {
            do {
                return .success(try await reader.readQueued(destination: destination, afterID: afterID, limit: Self.rowsPerRead,
                                                            byteLimit: Self.bytesPerRead))
            } catch {
                return .failure(error)
            }
        }
    }
}

extension DeliveryQueue {
    /// Writes a bulk drain's cursor (not fsynced, like every delivery record: a crash only repeats deliveries);
    /// nil, or why the write failed (the drain tries again at its next record).
    func writeBulkCursor(_ through: Int64, destination: String, at date: Date) async -> String? {
        do {
            try await record([], destination: destination, deliveredThrough: through, at: date)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// A bulk drain's end, with its `figures`: a warning with the reason when it ended early, an info line when it
/// delivered, a debug line when it found nothing to send.
func logBulkDrainEnd(_ logger: Logger, delivered: Int, endedBecause: String?, recordError: String?, figures: Logger.Metadata) {
    var metadata = figures
    metadata["delivered"] = "\(delivered)"
    if let recordError { metadata["cursor_write_error"] = "\(recordError)" }
    if let endedBecause {
        metadata["ended_because"] = "\(endedBecause)"
        logger.warning("bulk drain ended early; the scheduled path takes over", metadata: metadata)
    } else if delivered > 0 {
        logger.info("bulk drain ended", metadata: metadata)
    } else {
        logger.debug("bulk drain found nothing to send", metadata: metadata)
    }
}
