// ExportResponse: the status-200 answer of an export URL, with its body as a capped stream.

import RelayCurl

/// The final answer (status 200) of ``ExportFetcher/open(url:context:)``.
package struct ExportResponse: Sendable {
    /// Status line and headers of the final hop (`Content-Type`, `Content-Encoding`, …).
    package let head: HTTPResponseHead
    /// The URL that answered (after redirects), as libcurl normalised it.
    package let url: CurlURL
    /// The announced body size, when the host sent `Content-Length` (at most `maxFileBytes`).
    package let contentLength: Int?
    /// The raw bytes as received (gzip is not decoded here). Iterate once.
    package let body: ExportBody
}

/// The body of an export file: ``CurlBodyStream`` with back-pressure, failing with
/// ``ExportFetchFailure`` — `.forbidden` once more than `maxFileBytes` have arrived (bodies
/// without `Content-Length` are capped too), `.retry` when the transfer breaks off, `.cancelled`
/// when the consuming task is cancelled. Dropping it (or its iterator) aborts the transfer.
package struct ExportBody: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    package typealias Failure = ExportFetchFailure

    let stream: CurlBodyStream
    let limit: Int
    /// What is being read, URL included, for failure reasons.
    let context: String

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: stream.makeAsyncIterator(), limit: limit, context: context)
    }

    package struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        var inner: CurlBodyStream.AsyncIterator
        let limit: Int
        let context: String
        /// Bytes handed out so far.
        package private(set) var received = 0

        init(inner: CurlBodyStream.AsyncIterator, limit: Int, context: String) {
            self.inner = inner
            self.limit = limit
            self.context = context
        }

        /// The next chunk, nil at the end of the body.
        package mutating func next() async throws(ExportFetchFailure) -> [UInt8]? {
            let chunk: [UInt8]?
            do {
                chunk = try await inner.next()
            } catch {
                throw transportFailure(error, context: "\(context): the body broke off after \(received) bytes")
            }
            guard let chunk else { return nil }
            received += chunk.count
            if received > limit {
                throw .forbidden(reason: "\(context): the body is larger than the source's export.maxFileBytes (\(limit) bytes)")
            }
            return chunk
        }

        package mutating func next(isolation actor: isolated (any Actor)?) async throws(ExportFetchFailure) -> [UInt8]? {
            try await next()
        }
    }
}
