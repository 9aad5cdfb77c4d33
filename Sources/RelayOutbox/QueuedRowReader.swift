// The bulk drain's view of queued deliveries: rows visited in place, their columns borrowed from the store.
import RelayCore

/// One queued delivery with its event, as stored. The buffers are valid only during the visit.
package struct QueuedRow {
    package var deliveryID: Int64
    package var key: UnsafeRawBufferPointer?
    /// The route's rendered headers as stored; ``decodeHeaders(_:)`` reads them.
    package var headerText: UnsafeRawBufferPointer
    package var eventID: UnsafeRawBufferPointer
    package var source: UnsafeRawBufferPointer
    package var eventType: UnsafeRawBufferPointer
    package var subject: UnsafeRawBufferPointer?
    /// Seconds since 1970.
    package var receivedAt: Double
    package var body: UnsafeRawBufferPointer

    package static func decodeHeaders(_ text: UnsafeRawBufferPointer) -> [PlannedDelivery.Header] {
        HeaderCoding.decode(String(decoding: text, as: UTF8.self))
    }

    /// Calls `body` with each stored header's name and value bytes in place, without decoding them;
    /// returns false, calling nothing, when the text has an escape (use ``decodeHeaders(_:)`` then).
    /// The stored form is `[["name","value"],...]` (``HeaderCoding``): without escapes, every string is
    /// the bytes between two consecutive quotes.
    package static func withHeaderBytes(_ text: UnsafeRawBufferPointer,
                                        _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) -> Bool {
        guard text.count > 2 else { return true }
        guard !text.contains(UInt8(ascii: "\\")) else { return false }
        var strings: (name: UnsafeRawBufferPointer?, open: Int?) = (nil, nil)
        for index in text.indices where text[index] == UInt8(ascii: "\"") {
            guard let open = strings.open else {
                strings.open = index + 1
                continue
            }
            strings.open = nil
            let string = UnsafeRawBufferPointer(rebasing: text[open..<index])
            if let name = strings.name {
                body(name, string)
                strings.name = nil
            } else {
                strings.name = string
            }
        }
        return true
    }
}

/// How far one ``QueuedRowReader/visitQueued(destination:afterID:limit:_:)`` went.
package struct QueuedRowVisit: Sendable, Equatable {
    /// Rows the visitor took (a row it refused is not counted).
    package var taken: Int
    /// Fewer than `limit` rows were there and the visitor took them all: the destination is caught up.
    package var reachedEnd: Bool

    package init(taken: Int, reachedEnd: Bool) {
        self.taken = taken
        self.reachedEnd = reachedEnd
    }
}

/// A store whose queued deliveries can be read without building a ``PendingDelivery`` per row.
package protocol QueuedRowReader: Sendable {
    /// Calls `visit` with the queued deliveries of `destination` whose id is above `afterID`, in id
    /// order, at most `limit`, until it returns false (that row is not taken). `visit` runs on the
    /// store's reading thread, inside one read transaction.
    func visitQueued(destination: String, afterID: Int64, limit: Int,
                     _ visit: @escaping @Sendable (QueuedRow) -> Bool) async throws -> QueuedRowVisit
}
