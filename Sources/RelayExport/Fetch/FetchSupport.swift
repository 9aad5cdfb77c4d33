// Small pieces shared by the fetcher and the OAuth2 token source: transport-error mapping, body
// excerpts, the Retry-After cap, and a time limit around one await.

import RelayCurl

/// Longest `Retry-After` an export host or token endpoint is honoured for; a larger value is capped
/// (the poll deadline ends the job anyway).
let exportMaxRetryAfter: Duration = .seconds(24 * 3600)

/// Bytes of an upstream error body quoted in a failure reason.
let bodyExcerptBytes = 300

/// How a failed transfer (no HTTP answer, or a body that broke off) reads as a fetch failure.
/// `context` names what was fetched, URL included.
func transportFailure(_ error: CurlError, context: String) -> ExportFetchFailure {
    switch error.kind {
    case .refusedPeer:
        return .forbidden(reason: "\(context): \(error.message)")
    case .cancelled, .shutdown:
        return .cancelled(reason: "\(context): \(error.message)")
    case .tls where error.code != curlHandshakeFailed:
        // Certificate problems fail the same way on every attempt until the configuration or
        // the certificate changes.
        return .forbidden(reason: "\(context): TLS verification failed: \(error.message)")
    case .tls, .connect, .timeout, .resolve, .network, .other:
        return .retry(after: nil, reason: "\(context): \(error.kind): \(error.message)")
    }
}

/// libcurl's `CURLE_SSL_CONNECT_ERROR`: the TLS handshake did not complete (usually a reset
/// connection), as opposed to a certificate that failed verification.
private let curlHandshakeFailed = 35

/// The first ``bodyExcerptBytes`` of `body` as one line of text (control characters as spaces).
func bodyExcerpt(_ body: [UInt8]) -> String {
    let text = String(decoding: body.prefix(bodyExcerptBytes), as: UTF8.self)
    let line = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
    let trimmed = line.trimmingSpaces()
    return body.count > bodyExcerptBytes ? trimmed + "…" : trimmed
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while scalars.first == " " { scalars.removeFirst() }
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}

/// Runs `operation`, giving up after `limit`: nil then, and the operation's task is cancelled
/// (and awaited) before this returns.
func withTimeLimit<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// Reads a response body that is not the file (an error or a redirect): keeps the first
/// ``bodyExcerptBytes`` for messages and reads at most `drainBytes` in all, so that a short body
/// ends normally and its connection can be reused. Gives up after `limit`.
func readExcerpt(_ body: CurlBodyStream, drainBytes: Int = 64 * 1024, limit: Duration) async -> [UInt8] {
    let kept: [UInt8]? = await withTimeLimit(limit) {
        var kept: [UInt8] = []
        var read = 0
        do {
            for try await chunk in body {
                if kept.count < bodyExcerptBytes + 1 {
                    kept.append(contentsOf: chunk.prefix(bodyExcerptBytes + 1 - kept.count))
                }
                read += chunk.count
                if read >= drainBytes { break }
            }
        } catch {
            // A body that breaks off still has its first bytes to show.
        }
        return kept
    }
    return kept ?? []
}
