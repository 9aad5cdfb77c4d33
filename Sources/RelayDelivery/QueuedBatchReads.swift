// A bulk drain's reads: a destination's queued rows batch after batch, the next read running while the
// current batch is sent.
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
