// How the HTTP sink builds a request: method, body, CloudEvents and static/route headers, Standard Webhooks signature;
// and which configured headers it refuses (ones it sets itself, or invalid names and values).
import Foundation
import Logging
import RelayCore
import RelayCurl
import Synchronization

extension HTTPSink {
    func makeRequest(for item: DeliveryItem) -> HTTPRequestSpec {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(staticHeaders.count + item.headers.count + 10)
        if item.headers.isEmpty {
            headers.append(contentsOf: staticHeaders)
        } else {
            let routeNames = Set(item.headers.map { $0.name.lowercased() })
            for (index, header) in staticHeaders.enumerated() where !routeNames.contains(staticHeaderKeys[index]) {
                headers.append(header)
            }
            for header in item.headers where !Self.isSetBySink(header.name) {
                headers.append((header.name, header.value))
            }
        }
        for attribute in CloudEvents.attributes(of: item) {
            headers.append(("ce-" + attribute.name, attribute.value))
        }
        headers.append(("Content-Type", item.contentType))
        if let signer {
            let timestamp = Int64(clock().timeIntervalSince1970.rounded(.down))
            headers.append(("webhook-id", item.eventID.rawValue))
            headers.append(("webhook-timestamp", String(timestamp)))
            headers.append(("webhook-signature", signer.headerValue(id: item.eventID.rawValue, timestamp: timestamp, body: item.body)))
        }
        return HTTPRequestSpec(
            method: destination.method,
            url: destination.url,
            headers: headers,
            body: item.body,
            connectTimeout: destination.connectTimeout,
            totalTimeout: destination.timeout,
            caFile: destination.caFile,
            proxy: destination.proxy,
            followRedirects: false,
            responseHeaders: Self.responseHeadersRead
        )
    }

    // MARK: - Headers

    /// The only response headers the sink reads (``outcome(for:)``); the client parses no others.
    static let responseHeadersRead = ["Retry-After", "Location"]

    /// Headers the sink sets itself (or libcurl does), which config and routes may not override.
    static func isSetBySink(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { isSetBySink(UnsafeRawBufferPointer($0)) }
    }

    /// ``isSetBySink(_:)`` of a name given as bytes (a bulk drain's stored route headers).
    static func isSetBySink(_ name: UnsafeRawBufferPointer) -> Bool {
        if name.count >= 3, UnsafeRawBufferPointer(rebasing: name[0..<3]).equalsIgnoringCase(cloudEventsPrefix) {
            return true
        }
        return reservedHeaders.contains { name.equalsIgnoringCase($0) }
    }

    private static let cloudEventsPrefix = Array("ce-".utf8)
    private static let reservedHeaders = [
        "content-type", "content-length", "transfer-encoding", "webhook-id", "webhook-timestamp", "webhook-signature",
    ].map { Array($0.utf8) }

    /// Why a rendered route header cannot be sent, or nil.
    static func problem(inRouteHeaders headers: [PlannedDelivery.Header]) -> String? {
        for header in headers where !isSetBySink(header.name) {
            if let problem = problem(inHeader: header.name, header.value) { return "route header '\(header.name)' \(problem)" }
        }
        return nil
    }

    /// Why a header cannot be sent as is, or nil.
    static func problem(inHeader name: String, _ value: String) -> String? {
        var (name, value) = (name, value)
        return name.withUTF8 { name in value.withUTF8 { problem(inHeader: UnsafeRawBufferPointer(name), UnsafeRawBufferPointer($0)) } }
    }

    /// ``problem(inHeader:_:)`` of a header given as bytes.
    static func problem(inHeader name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> String? {
        if name.isEmpty || name.contains(where: { $0 <= 0x20 || $0 >= 0x7f || $0 == UInt8(ascii: ":") }) {
            return "is not a valid header name"
        }
        if !isSendableHeaderText(value) {
            return "contains CR, LF or NUL"
        }
        return nil
    }
}
