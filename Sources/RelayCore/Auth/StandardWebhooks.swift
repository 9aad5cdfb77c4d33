// The Standard Webhooks signature scheme: `v1,<base64 HMAC-SHA256(id.timestamp.body)>`.
import Crypto
import Foundation

package enum StandardWebhooks {
    /// Decodes a secret: `whsec_<base64>` gives the base64-decoded key; any other text is used as raw bytes.
    package static func key(fromSecret secret: String) -> [UInt8] {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("whsec_"), let data = Data(base64Encoded: String(trimmed.dropFirst(6))) {
            return Array(data)
        }
        return Array(trimmed.utf8)
    }

    /// The base64 signature (without the `v1,` prefix) of one message.
    package static func signature(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return Data(hmac.finalize()).base64EncodedString()
    }

    /// Signs with one key whose HMAC key schedule (the padded key's inner and outer hash states) is
    /// computed once, not per message: a sender that signs every request keeps one of these.
    package struct Signer: Sendable {
        // Never mutated: each message signs a copy (the digest contexts are copied on write), so sharing
        // the value across threads is safe although swift-crypto does not mark `HMAC` Sendable.
        private nonisolated(unsafe) let keyed: HMAC<SHA256>

        package init(key: [UInt8]) {
            keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
        }

        /// The base64 signature (without the `v1,` prefix); the same as ``StandardWebhooks/signature(key:id:timestamp:body:)``.
        package func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
            Array(id.utf8).withUnsafeBytes { id in body.withUnsafeBytes { signature(id: id, timestamp: timestamp, body: $0) } }
        }

        /// ``signature(id:timestamp:body:)`` of an id and a body given as bytes (a bulk drain's stored columns).
        package func signature(id: UnsafeRawBufferPointer, timestamp: Int64, body: UnsafeRawBufferPointer) -> String {
            var hmac = keyed
            hmac.update(data: id)
            hmac.update(data: Array(".\(timestamp).".utf8))
            hmac.update(data: body)
            return Data(hmac.finalize()).base64EncodedString()
        }

        /// Header value for an outbound request: `v1,<base64>`.
        package func headerValue(id: String, timestamp: Int64, body: [UInt8]) -> String {
            "v1," + signature(id: id, timestamp: timestamp, body: body)
        }

        /// ``headerValue(id:timestamp:body:)`` of an id and a body given as bytes.
        package func headerValue(id: UnsafeRawBufferPointer, timestamp: Int64, body: UnsafeRawBufferPointer) -> String {
            "v1," + signature(id: id, timestamp: timestamp, body: body)
        }
    }

    /// Header value for an outbound request: `v1,<base64>`.
    package static func headerValue(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        "v1," + signature(key: key, id: id, timestamp: timestamp, body: body)
    }

    package enum Failure: Equatable, Sendable {
        case missingHeader(String)
        case badTimestamp
        case timestampOutsideTolerance
        case noMatchingSignature
    }

    /// Verifies the three headers against any of `keys` (key rotation); the timestamp must be within `tolerance` of `now`.
    package static func verify(id: String?, timestamp: String?, signatures: String?, body: [UInt8],
                              keys: [[UInt8]], tolerance: Duration, now: Date) -> Failure? {
        guard let id, !id.isEmpty else { return .missingHeader("webhook-id") }
        guard let timestamp, !timestamp.isEmpty else { return .missingHeader("webhook-timestamp") }
        guard let signatures, !signatures.isEmpty else { return .missingHeader("webhook-signature") }
        guard let seconds = Int64(timestamp) else { return .badTimestamp }
        let skew = abs(now.timeIntervalSince1970 - Double(seconds))
        if skew > Double(tolerance.components.seconds) { return .timestampOutsideTolerance }
        let offered = signatures.split(separator: " ").compactMap { entry -> [UInt8]? in
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1" else { return nil }
            return Array(parts[1].utf8)
        }
        var matched = false
        for key in keys {
            let expected = Array(signature(key: key, id: id, timestamp: seconds, body: body).utf8)
            for candidate in offered where ConstantTime.equals(candidate, expected) { matched = true }
        }
        return matched ? nil : .noMatchingSignature
    }
}
