// Queued outbox rows as HTTP requests written into a feed's slots, shaped exactly as HTTPSink.makeRequest
// shapes a delivery's request (HTTPBulkDrainTests compares the two on the wire).
import Foundation
import RelayCore
import RelayCurl
import RelayOutbox

/// Writes one request per queued row straight from the stored bytes: the body as stored; the
/// destination's static headers (less those a route header of the same name replaces), the route's
/// headers, the CloudEvents attributes as `ce-*`, `Content-Type` and, with a signing key, the Standard
/// Webhooks trio, in ``HTTPSink/makeRequest(for:)``'s order; then `Expect:` so that libcurl adds no
/// `Expect: 100-continue`, as ``RelayCurl`` does for every request. Used by one lane on its worker thread.
final class HTTPBulkRequestWriter {
    let sink: HTTPSink
    /// The static headers as bytes, with their lowercased names.
    private let staticHeaders: [(name: [UInt8], value: [UInt8], key: [UInt8])]
    private let staticExpect: Bool
    /// The last source seen, and its `ce-source` value.
    private var source: (name: [UInt8], attribute: [UInt8]) = ([], [])
    /// The last stored header text with escapes seen, decoded (texts without are read in place).
    private var escapedHeaders: (text: [UInt8], headers: [(name: [UInt8], value: [UInt8])]) = ([], [])
    /// The row's route headers that are sent: their bytes, and where each name and value is in them.
    private var routeHeaderBytes: [UInt8] = []
    private var routeHeaders: [(name: Range<Int>, value: Range<Int>)] = []

    init(sink: HTTPSink) {
        self.sink = sink
        staticHeaders = sink.staticHeaders.enumerated().map { index, header in
            (Array(header.name.utf8), Array(header.value.utf8), Array(sink.staticHeaderKeys[index].utf8))
        }
        staticExpect = sink.staticHeaderKeys.contains("expect")
    }

    /// Writes `row`'s request; false, writing nothing that counts, when a route header cannot be sent
    /// (the scheduled path dead-letters the delivery with the reason).
    func write(_ row: QueuedRow, into request: CurlFeedRequest) -> Bool {
        routeHeaderBytes.removeAll(keepingCapacity: true)
        routeHeaders.removeAll(keepingCapacity: true)
        let sendable = withRouteHeaders(row.headerText) { name, value in
            guard !HTTPSink.isSetBySink(name) else { return true }
            guard HTTPSink.isValidHeaderName(name), HTTPSink.isValidHeaderValue(value) else { return false }
            let start = routeHeaderBytes.count
            routeHeaderBytes.append(contentsOf: name)
            routeHeaderBytes.append(contentsOf: value)
            routeHeaders.append((start..<start + name.count, start + name.count..<routeHeaderBytes.count))
            return true
        }
        guard sendable else { return false }
        var sawExpect = staticExpect
        routeHeaderBytes.withUnsafeBytes { bytes in
            for header in staticHeaders
            where !routeHeaders.contains(where: { Self.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: bytes[$0.name]), header.key) }) {
                request.addHeader(header.name, header.value)
            }
            for header in routeHeaders {
                let name = UnsafeRawBufferPointer(rebasing: bytes[header.name])
                request.addHeader(name, UnsafeRawBufferPointer(rebasing: bytes[header.value]))
                sawExpect = sawExpect || Self.equalsIgnoringCase(name, Self.expect)
            }
        }
        writeCloudEventsHeaders(row, into: request)
        if let signer = sink.signer {
            let timestamp = Int64(sink.clock().timeIntervalSince1970.rounded(.down))
            request.addHeader("webhook-id", row.eventID)
            let digits = Array(String(timestamp).utf8)
            digits.withUnsafeBytes { request.addHeader("webhook-timestamp", $0) }
            let signature = Array(signer.headerValue(id: row.eventID, timestamp: timestamp, body: row.body).utf8)
            signature.withUnsafeBytes { request.addHeader("webhook-signature", $0) }
        }
        if !sawExpect { request.suppressHeader("Expect") }
        request.setBody(row.body)
        return true
    }

    private func writeCloudEventsHeaders(_ row: QueuedRow, into request: CurlFeedRequest) {
        if !Self.equal(row.source, source.name) {
            source = (Array(row.source), Array(CloudEvents.source(for: String(decoding: row.source, as: UTF8.self)).utf8))
        }
        Self.specVersion.withUnsafeBytes { request.addHeader("ce-specversion", $0) }
        request.addHeader("ce-id", row.eventID)
        source.attribute.withUnsafeBytes { request.addHeader("ce-source", $0) }
        request.addHeader("ce-type", row.eventType)
        if let subject = row.subject { request.addHeader("ce-subject", subject) }
        CloudEvents.withTimeBytes(secondsSince1970: row.receivedAt) { request.addHeader("ce-time", $0) }
        Self.contentType.withUnsafeBytes { request.addHeader("Content-Type", $0) }
    }

    /// Calls `body` with each stored route header, in place when the text has no escapes; false as soon as
    /// `body` does.
    private func withRouteHeaders(_ text: UnsafeRawBufferPointer,
                                  _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) -> Bool {
        var accepted = true
        let inPlace = QueuedRow.withHeaderBytes(text) { name, value in
            if accepted { accepted = body(name, value) }
        }
        guard !inPlace else { return accepted }
        if !Self.equal(text, escapedHeaders.text) {
            let decoded = QueuedRow.decodeHeaders(text).map { (name: Array($0.name.utf8), value: Array($0.value.utf8)) }
            escapedHeaders = (Array(text), decoded)
        }
        for header in escapedHeaders.headers {
            let kept = header.name.withUnsafeBytes { name in header.value.withUnsafeBytes { body(name, $0) } }
            guard kept else { return false }
        }
        return true
    }

    private static func equal(_ bytes: UnsafeRawBufferPointer, _ array: [UInt8]) -> Bool {
        bytes.count == array.count && array.withUnsafeBytes { array in
            bytes.count == 0 || memcmp(bytes.baseAddress!, array.baseAddress!, bytes.count) == 0
        }
    }

    /// Whether `bytes`, lowercased, are `lowercase`.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ lowercase: [UInt8]) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        for (byte, expected) in zip(bytes, lowercase) where asciiLowercased(byte) != expected { return false }
        return true
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    private static let expect = Array("expect".utf8)
    private static let specVersion = Array("1.0".utf8)
    private static let contentType = Array("application/json".utf8)
}

extension HTTPSink {
    /// ``isSetBySink(_:)`` of a name given as bytes.
    static func isSetBySink(_ name: UnsafeRawBufferPointer) -> Bool {
        if name.count >= 3, HTTPBulkRequestWriter.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: name[0..<3]), Self.cloudEventsPrefix) {
            return true
        }
        return reservedHeaderBytes.contains { HTTPBulkRequestWriter.equalsIgnoringCase(name, $0) }
    }

    /// The name test of ``problem(inHeader:_:)``, on bytes.
    static func isValidHeaderName(_ name: UnsafeRawBufferPointer) -> Bool {
        !name.isEmpty && !name.contains { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: ":") }
    }

    /// The value test of ``problem(inHeader:_:)``, on bytes.
    static func isValidHeaderValue(_ value: UnsafeRawBufferPointer) -> Bool {
        !value.contains { $0 == 0 || $0 == 0x0a || $0 == 0x0d }
    }

    private static let cloudEventsPrefix = Array("ce-".utf8)
    private static let reservedHeaderBytes = reservedHeaders.map { Array($0.utf8) }
}
