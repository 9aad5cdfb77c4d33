// What both bulk drains read off a queued row besides its columns: the `ce-source` value of its source and its
// route headers, each decoded once and kept while consecutive rows repeat it.
import Foundation
import RelayCore
import RelayCurl
import RelayOutbox

/// The last source's CloudEvents `source` attribute and the last escaped header text, decoded; header texts
/// without escapes are read in place. One per bulk encoder or request writer, used by one thread at a time.
struct StoredRowText {
    /// The last source seen, and its `ce-source` value.
    private var source: (name: [UInt8], attribute: [UInt8]) = ([], [])
    /// The last stored header text with escapes seen, decoded.
    private var escapedHeaders: (text: [UInt8], headers: [(name: [UInt8], value: [UInt8])]) = ([], [])

    /// The CloudEvents `source` attribute of the source named `name` (``CloudEvents/source(for:)``).
    mutating func sourceAttribute(of name: UnsafeRawBufferPointer) -> [UInt8] {
        if !name.equals(source.name) {
            source = (Array(name), Array(CloudEvents.source(for: String(decoding: name, as: UTF8.self)).utf8))
        }
        return source.attribute
    }

    /// Calls `body` with each route header stored in `text`, in order, until it returns false; false then.
    mutating func forEachHeader(in text: UnsafeRawBufferPointer,
                                _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) -> Bool {
        var accepted = true
        let inPlace = QueuedRow.withHeaderBytes(text) { name, value in
            if accepted { accepted = body(name, value) }
        }
        guard !inPlace else { return accepted }
        if !text.equals(escapedHeaders.text) {
            escapedHeaders = (Array(text), QueuedRow.decodeHeaders(text).map { (name: Array($0.name.utf8), value: Array($0.value.utf8)) })
        }
        for header in escapedHeaders.headers {
            guard header.name.withUnsafeBytes({ name in header.value.withUnsafeBytes { body(name, $0) } }) else { return false }
        }
        return true
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are `array`'s.
    func equals(_ array: [UInt8]) -> Bool {
        count == array.count && array.withUnsafeBytes { array in count == 0 || memcmp(baseAddress!, array.baseAddress!, count) == 0 }
    }

    /// Whether these bytes, ASCII-lowercased, are `lowercase`.
    func equalsIgnoringCase(_ lowercase: [UInt8]) -> Bool {
        guard count == lowercase.count else { return false }
        for (byte, expected) in zip(self, lowercase) where asciiLower(byte) != expected { return false }
        return true
    }
}
