// ExportFetchFailure: why fetching one export URL produced no file, as the kind the job runner acts on.

/// A fetch that did not produce a status-200 body (or whose body broke off), classified by
/// what the job should do next (SPEC §3). Every reason names the URL with its query redacted
/// (`https://host/path?…`): pre-signed URLs carry their signature there.
package enum ExportFetchFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// 404: the export is not ready yet; poll again later with back-off, up to the poll deadline.
    case notReady(reason: String)
    /// 410: the export is gone or the URL invalid. Terminal.
    case gone(reason: String)
    /// 503: the export failed upstream; a new export must be requested. Terminal.
    case failedUpstream(reason: String)
    /// 429, other 5xx, transport failures (refused, reset, timeouts), a body that broke off:
    /// try again, after `after` when the upstream said so (`Retry-After`).
    case retry(after: Duration?, reason: String)
    /// Other 4xx (and a second 401 after a token refresh, unexpected statuses, an OAuth2 token
    /// endpoint that refused the client): terminal, with the first bytes of the upstream body.
    case rejected(status: Int, reason: String)
    /// Refused by the source's export policy before or while connecting: host not allow-listed,
    /// plain http, a private address, too many redirects, a file over `maxFileBytes`, a
    /// certificate that failed verification. Terminal.
    case forbidden(reason: String)
    /// The calling task was cancelled or the HTTP client shut down: neither a success nor a
    /// failure of the job; do not count it as an attempt.
    case cancelled(reason: String)

    package var reason: String {
        switch self {
        case .notReady(let reason), .gone(let reason), .failedUpstream(let reason), .retry(_, let reason),
             .rejected(_, let reason), .forbidden(let reason), .cancelled(let reason):
            return reason
        }
    }

    /// Whether the job should be dead-lettered now (as opposed to polled or retried later, or
    /// stopped by cancellation).
    package var isTerminal: Bool {
        switch self {
        case .gone, .failedUpstream, .rejected, .forbidden: return true
        case .notReady, .retry, .cancelled: return false
        }
    }

    package var description: String {
        switch self {
        case .notReady(let reason): return "not ready: \(reason)"
        case .gone(let reason): return "gone: \(reason)"
        case .failedUpstream(let reason): return "failed upstream: \(reason)"
        case .retry(let after, let reason): return "retry\(after.map { " after \($0)" } ?? ""): \(reason)"
        case .rejected(let status, let reason): return "rejected (\(status)): \(reason)"
        case .forbidden(let reason): return "forbidden: \(reason)"
        case .cancelled(let reason): return "cancelled: \(reason)"
        }
    }
}
