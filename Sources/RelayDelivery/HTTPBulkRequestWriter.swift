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
/// `Expect: 100-continue`, as ``RelayCurl`` does for every request. The `ce-*` and `webhook-*` headers go in
/// as plain headers (``CurlFeedRequest/addPlainHeader(_:_:)``). Used by one lane on its worker thread.
final class HTTPBulkRequestWriter {
    let sink: HTTPSink
    /// The static headers as bytes, with their lowercased names.
    private let staticHeaders: [(name: [UInt8], value: [UInt8], key: [UInt8])]
    private let staticExpect: Bool
    /// The rows' `ce-source` values and route headers.
    private var text = StoredRowText()
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
        let sendable = text.forEachHeader(in: row.headerText) { name, value in
            guard !HTTPSink.isSetBySink(name) else { return true }
            guard HTTPSink.problem(inHeader: name, value) == nil else { return false }
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
            where !routeHeaders.contains(where: { UnsafeRawBufferPointer(rebasing: bytes[$0.name]).equalsIgnoringCase(header.key) }) {
                request.addHeader(header.name, header.value)
            }
            for header in routeHeaders {
                let name = UnsafeRawBufferPointer(rebasing: bytes[header.name])
                request.addHeader(name, UnsafeRawBufferPointer(rebasing: bytes[header.value]))
                sawExpect = sawExpect || name.equalsIgnoringCase(Self.expect)
            }
        }
        writeCloudEventsHeaders(row, into: request)
        if let signer = sink.signer {
            let timestamp = Int64(sink.clock().timeIntervalSince1970.rounded(.down))
            request.addPlainHeader("webhook-id", row.eventID)
            let digits = Array(String(timestamp).utf8)
            digits.withUnsafeBytes { request.addPlainHeader("webhook-timestamp", $0) }
            let signature = Array(signer.headerValue(id: row.eventID, timestamp: timestamp, body: row.body).utf8)
            signature.withUnsafeBytes { request.addPlainHeader("webhook-signature", $0) }
        }
        if !sawExpect { request.suppressHeader("Expect") }
        request.setBody(row.body)
        return true
    }

    private func writeCloudEventsHeaders(_ row: QueuedRow, into request: CurlFeedRequest) {
        let source = text.sourceAttribute(of: row.source)
        Self.specVersion.withUnsafeBytes { request.addPlainHeader("ce-specversion", $0) }
        request.addPlainHeader("ce-id", row.eventID)
        source.withUnsafeBytes { request.addPlainHeader("ce-source", $0) }
        request.addPlainHeader("ce-type", row.eventType)
        if let subject = row.subject { request.addPlainHeader("ce-subject", subject) }
        CloudEvents.withTimeBytes(secondsSince1970: row.receivedAt) { request.addPlainHeader("ce-time", $0) }
        Self.contentType.withUnsafeBytes { request.addHeader("Content-Type", $0) }
    }

    private static let expect = Array("expect".utf8)
    private static let specVersion = Array("1.0".utf8)
    private static let contentType = Array("application/json".utf8)
}
