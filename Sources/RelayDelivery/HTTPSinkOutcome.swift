// How the HTTP sink classifies what happened to a request: delivered, retry (with Retry-After) or dead, and
// what the circuit breaker counts.
import Foundation
import Logging
import RelayCore
import RelayCurl
import Synchronization

extension HTTPSink {
    // MARK: - Outcomes

    /// An answer that is neither 2xx nor retriable proves the destination is up, so it counts
    /// as a success for the breaker even though the item is dead.
    func outcome(for result: HTTPResult) -> (DeliveryOutcome, CircuitBreaker.Result) {
        let status = result.head.status
        if (200..<300).contains(status) { return (.delivered, .success) }
        let excerpt = Self.excerpt(result.body, truncated: result.bodyTruncated)
        let reason = excerpt.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(excerpt)"
        if destination.retryOnStatus.contains(status) {
            let after = result.head.header("Retry-After").flatMap { RetryAfter.parse($0, now: clock()) }
            return (.retry(after: after, reason: reason), .failure(reason: reason))
        }
        if (300..<400).contains(status) {
            let target = result.head.header("Location").map { "redirect to \($0)" } ?? "redirect without a Location"
            return (.dead(reason: "HTTP \(status) \(target) (redirects are not followed)"), .success)
        }
        return (.dead(reason: reason), .success)
    }

    func outcome(for error: CurlError) -> (DeliveryOutcome, CircuitBreaker.Result) {
        let reason = "\(error.kind): \(error.message)"
        switch error.kind {
        case .tls where error.code != Self.curlHandshakeFailed:
            // Certificate problems (unknown CA, wrong host name, expired, unreadable CA file)
            // fail the same way on every attempt until someone changes the configuration or the
            // certificate, so retrying only delays the dead letter, and counting them as breaker
            // failures would hold back nothing that could succeed. Dead-letter now; replay after
            // the fix. The destination did answer, so the breaker sees a success.
            return (.dead(reason: reason), .success)
        case .tls, .connect, .timeout, .resolve, .network, .other:
            // A handshake cut short (CURLE_SSL_CONNECT_ERROR) is usually a reset connection,
            // which heals like any other network failure.
            return (.retry(after: nil, reason: reason), .failure(reason: reason))
        case .cancelled, .shutdown:
            return (.retry(after: nil, reason: reason), .abandoned)
        case .refusedPeer:
            // Sinks set no peer check; should one refuse, nothing was sent and nothing will change.
            return (.dead(reason: reason), .abandoned)
        }
    }

    /// libcurl's `CURLE_SSL_CONNECT_ERROR`: the TLS handshake did not complete (as opposed to a
    /// certificate that failed verification).
    private static let curlHandshakeFailed = 35

    /// The first ``bodyExcerptBytes`` of a body as one line of text.
    static func excerpt(_ body: [UInt8], truncated: Bool) -> String {
        let bytes = body.prefix(bodyExcerptBytes).map { $0 == 0x0d || $0 == 0x0a || $0 == 0x09 ? UInt8(ascii: " ") : $0 }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return truncated || body.count > bodyExcerptBytes ? text + "…" : text
    }
}
