// ExportFetcher: one GET of an export URL — policy checks, credentials, redirects followed hop by
// hop, and the upstream status turned into the outcome the job runner acts on (SPEC §3).

import Foundation
import Logging
import RelayCore
import RelayCurl

/// Opens export URLs of one source. Each call checks the URL against the source's
/// ``ExportURLPolicy``, sends `Accept-Encoding: gzip` (the body is handed over undecoded) and the
/// source's credentials, follows up to `maxRedirects` redirects itself (each hop checked again,
/// credentials sent only to the first URL's origin), refuses internal peers on every connection,
/// refreshes an OAuth2 token once on a 401, and refuses a `Content-Length` over `maxFileBytes`.
package final class ExportFetcher: Sendable {
    /// Time limits of one fetch (the body itself has none: files may take hours, and a stalled
    /// consumer pauses the transfer on purpose).
    package struct Timeouts: Sendable {
        /// TCP and TLS connection set-up.
        package var connect: Duration
        /// From the request to the response head.
        package var head: Duration
        /// Reading an error or redirect body for its excerpt.
        package var errorBody: Duration

        package init(connect: Duration = .seconds(10), head: Duration = .seconds(60), errorBody: Duration = .seconds(10)) {
            self.connect = connect
            self.head = head
            self.errorBody = errorBody
        }
    }

    package let policy: ExportURLPolicy
    package let credentials: ExportCredentialProvider
    private let client: CurlClient
    private let caFile: String?
    private let timeouts: Timeouts
    private let logger: Logger
    private let wallClock: @Sendable () -> Date

    package init(
        source: String,
        settings: ExportSourceSettings,
        client: CurlClient,
        credentials: ExportCredentialProvider,
        timeouts: Timeouts = Timeouts(),
        logger: Logger,
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        policy = ExportURLPolicy(source: source, settings: settings)
        self.credentials = credentials
        self.client = client
        caFile = settings.caFile
        self.timeouts = timeouts
        self.logger = logger
        self.wallClock = wallClock
    }

    /// A fetcher with its own ``ExportCredentialProvider`` (one per source: it holds the OAuth2 token).
    package convenience init(
        source: String,
        settings: ExportSourceSettings,
        client: CurlClient,
        secrets: @escaping ExportCredentialProvider.SecretReader,
        timeouts: Timeouts = Timeouts(),
        logger: Logger
    ) {
        let credentials = ExportCredentialProvider(
            source: source, credentials: settings.credentials, policy: ExportURLPolicy(source: source, settings: settings),
            client: client, secrets: secrets, logger: logger
        )
        self.init(source: source, settings: settings, client: client, credentials: credentials, timeouts: timeouts, logger: logger)
    }

    /// GETs `url` and returns its status-200 answer with the body still streaming, or throws the
    /// failure classified for the job runner: 404 `.notReady`; 410 `.gone`; 503 `.failedUpstream`;
    /// 429, other 5xx and transport failures `.retry` (with `Retry-After` when given); a 401
    /// after one token refresh and other 4xx `.rejected` with the start of the upstream body;
    /// policy refusals `.forbidden`. `context` names the URL in reasons (`apiUrl`, `manifest file 2`).
    package func open(url: String, context: String) async throws(ExportFetchFailure) -> ExportResponse {
        let first = try policy.check(url, context: context)
        var target = first
        var hopContext = context
        var redirects = 0
        var refreshedToken = false
        while true {
            let sameOrigin = target.scheme == first.scheme && target.host == first.host && target.effectivePort == first.effectivePort
            let authorization = sameOrigin ? try await credentials.authorization() : nil
            let (head, body) = try await request(target, authorization: authorization, context: hopContext)
            let status = head.status
            let described = "\(hopContext) \(target.redacted)"
            switch status {
            case 200:
                let length = head.header("Content-Length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                if let length, length > policy.maxFileBytes {
                    throw .forbidden(reason: "\(described): Content-Length \(length) is over source \(policy.source)'s export.maxFileBytes (\(policy.maxFileBytes))")
                }
                return ExportResponse(head: head, url: target, contentLength: length, body: ExportBody(stream: body, limit: policy.maxFileBytes, context: described))
            case 301, 302, 303, 307, 308:
                _ = await readExcerpt(body, limit: timeouts.errorBody)
                guard let location = head.header("Location"), !location.isEmpty else {
                    throw .rejected(status: status, reason: "\(described) answered \(status) without a Location")
                }
                let next: CurlURL
                do {
                    next = try target.resolving(location)
                } catch {
                    throw .rejected(status: status, reason: "\(described) answered \(status) with a Location that is not a valid URL (\(error.message)): \(redactedText(location))")
                }
                redirects += 1
                guard redirects <= policy.maxRedirects else {
                    throw .forbidden(reason: "\(context) \(first.redacted): more than \(policy.maxRedirects) redirects (source \(policy.source)'s export.maxRedirects); the last one to \(next.redacted)")
                }
                hopContext = "\(context) redirect \(redirects)"
                try policy.check(next, context: hopContext)
                logger.debug("following an export redirect", metadata: ["from": "\(target.redacted)", "to": "\(next.redacted)", "status": "\(status)"])
                target = next
            case 401 where authorization != nil && !refreshedToken && credentials.canRefresh:
                _ = await readExcerpt(body, limit: timeouts.errorBody)
                refreshedToken = true
                if let authorization { await credentials.invalidate(authorization) }
                logger.debug("export host answered 401; fetching a new token once", metadata: ["url": "\(target.redacted)"])
            default:
                let excerpt = bodyExcerpt(await readExcerpt(body, limit: timeouts.errorBody))
                throw failure(status: status, head: head, excerpt: excerpt, described: described, refreshedToken: refreshedToken)
            }
        }
    }

    /// One GET of one hop, up to its response head.
    private func request(_ url: CurlURL, authorization: String?, context: String) async throws(ExportFetchFailure) -> (HTTPResponseHead, CurlBodyStream) {
        var headers = [(name: "Accept-Encoding", value: "gzip")]
        if let authorization { headers.append((name: "Authorization", value: authorization)) }
        let spec = HTTPRequestSpec(
            url: url.text, headers: headers, connectTimeout: timeouts.connect, totalTimeout: .zero,
            // No proxy: the peer check must see the export host's own address.
            caFile: caFile, proxy: "", followRedirects: false, peerCheck: policy.peerCheck(for: url)
        )
        let client = self.client
        let outcome: OpenOutcome? = await withTimeLimit(timeouts.head) { () async -> OpenOutcome in
            do throws(CurlError) {
                let (head, body) = try await client.stream(spec)
                return .opened(head, body)
            } catch {
                return .failed(error)
            }
        }
        switch outcome {
        case .opened(let head, let body):
            return (head, body)
        case .failed(let error):
            throw transportFailure(error, context: "\(context) \(url.redacted)")
        case nil:
            if Task.isCancelled { throw .cancelled(reason: "\(context) \(url.redacted): the fetching task was cancelled") }
            throw .retry(after: nil, reason: "\(context) \(url.redacted): no response within \(timeouts.head)")
        }
    }

    /// The failure a non-200, non-redirect answer stands for.
    private func failure(status: Int, head: HTTPResponseHead, excerpt: String, described: String, refreshedToken: Bool) -> ExportFetchFailure {
        let reason = "\(described) answered \(status)\(excerpt.isEmpty ? "" : ": \(excerpt)")"
        switch status {
        case 404:
            return .notReady(reason: reason)
        case 410:
            return .gone(reason: reason)
        case 503:
            return .failedUpstream(reason: reason)
        case 429, 500...599:
            let after = head.header("Retry-After").flatMap { RetryAfter.parse($0, now: wallClock(), cap: exportMaxRetryAfter) }
            return .retry(after: after, reason: reason)
        case 401 where refreshedToken:
            return .rejected(status: status, reason: "\(reason) (again after a fresh token)")
        default:
            return .rejected(status: status, reason: reason)
        }
    }
}

/// What one attempt to open a hop came to.
private enum OpenOutcome: Sendable {
    case opened(HTTPResponseHead, CurlBodyStream)
    case failed(CurlError)
}
