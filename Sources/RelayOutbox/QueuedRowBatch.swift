// Queued rows copied out of one read, so another thread can use them while the store reads the next ones.

/// A read's queued rows with their columns copied into one buffer: the bulk drain produces one batch
/// while the store reads the next (reading in place would keep both on the reading thread).
package struct QueuedRowBatch: Sendable {
    /// Where a row's columns are in `bytes`.
    private struct Entry: Sendable {
        var deliveryID: Int64
        var receivedAt: Double
        var key: Range<Int>?
        var headerText: Range<Int>
        var eventID: Range<Int>
        var source: Range<Int>
        var eventType: Range<Int>
        var subject: Range<Int>?
        var body: Range<Int>
    }

    private var bytes: [UInt8] = []
    private var entries: [Entry] = []
    /// The read found fewer rows than it asked for and took them all: nothing is queued after these.
    package internal(set) var reachedEnd = false

    package init() {}

    package var count: Int { entries.count }
    package var isEmpty: Bool { entries.isEmpty }
    /// Bytes of copied columns (the read stops adding rows past its byte limit).
    package var byteCount: Int { bytes.count }

    package func deliveryID(at index: Int) -> Int64 {
        entries[index].deliveryID
    }

    /// When row `index` was accepted, in seconds since 1970.
    package func receivedAt(at index: Int) -> Double {
        entries[index].receivedAt
    }

    /// Calls `body` with row `index`; its buffers are valid only during the call.
    package func withRow<Result>(at index: Int, _ body: (QueuedRow) -> Result) -> Result {
        let entry = entries[index]
        return bytes.withUnsafeBytes { body(Self.row(entry, in: $0)) }
    }

    private static func row(_ entry: Entry, in buffer: UnsafeRawBufferPointer) -> QueuedRow {
        func view(_ range: Range<Int>) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: buffer[range])
        }
        return QueuedRow(deliveryID: entry.deliveryID, key: entry.key.map(view), headerText: view(entry.headerText),
                         eventID: view(entry.eventID), source: view(entry.source), eventType: view(entry.eventType),
                         subject: entry.subject.map(view), receivedAt: entry.receivedAt, body: view(entry.body))
    }

    /// Copies `row`'s columns.
    package mutating func append(_ row: QueuedRow) {
        func copy(_ column: UnsafeRawBufferPointer) -> Range<Int> {
            let start = bytes.count
            bytes.append(contentsOf: column)
            return start..<bytes.count
        }
        entries.append(Entry(deliveryID: row.deliveryID, receivedAt: row.receivedAt, key: row.key.map(copy),
                             headerText: copy(row.headerText), eventID: copy(row.eventID), source: copy(row.source),
                             eventType: copy(row.eventType), subject: row.subject.map(copy), body: copy(row.body)))
    }

    /// Calls `visit` with the rows from `start` on, in order, until it returns false (that row is not
    /// counted); returns how many it took. The rows' buffers are valid only during the call.
    package func visitRows(from start: Int, _ visit: (QueuedRow) -> Bool) -> Int {
        bytes.withUnsafeBytes { buffer in
            var taken = 0
            for entry in entries[start...] {
                guard visit(Self.row(entry, in: buffer)) else { break }
                taken += 1
            }
            return taken
        }
    }
}

extension QueuedRowReader {
    /// The queued deliveries of `destination` after `afterID`, in id order: at most `limit` rows, and no
    /// row past the first that takes the batch over `byteLimit` bytes.
    package func readQueued(destination: String, afterID: Int64, limit: Int, byteLimit: Int) async throws -> QueuedRowBatch {
        let collector = BatchCollector(byteLimit: byteLimit)
        let visit = try await visitQueued(destination: destination, afterID: afterID, limit: limit) { collector.take($0) }
        collector.batch.reachedEnd = visit.reachedEnd
        return collector.batch
    }
}

/// Fills a batch on the store's reading thread; read back after the visit returned.
private final class BatchCollector: @unchecked Sendable {
    var batch = QueuedRowBatch()
    let byteLimit: Int

    init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    func take(_ row: QueuedRow) -> Bool {
        guard batch.isEmpty || batch.byteCount < byteLimit else { return false }
        batch.append(row)
        return true
    }
}
