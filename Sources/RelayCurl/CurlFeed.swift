// A feed: a stream of requests that one worker thread takes from its source whenever a request slot and a
// concurrency permit are free, written straight into easy handles that stay configured (bulk drains).

import CCurl
import Synchronization

/// Where a feed's requests come from. Both methods run on the client's worker thread, one call at a time;
/// they must be quick and must not block (the worker drives every other transfer meanwhile).
package protocol CurlFeedSource: AnyObject, Sendable {
    /// Writes the next request into `request` (its ``CurlFeedRequest/tag``, body and header lines) and
    /// returns true, or returns false when there is nothing to start now; ``CurlFeed/pull()`` asks again.
    func writeNext(into request: CurlFeedRequest) -> Bool
    /// The request tagged `tag` ended: `status` is the final response's status, or 0 with the `error`
    /// that ended it (transport failure, a header that cannot be sent, the feed aborted, the client stopped).
    /// Called once for every request `writeNext` wrote.
    func ended(tag: Int, status: Int, error: CurlError?)
}

/// Requests sent by one worker thread on at most `capacity` easy handles of their own, which keep every
/// option but the body and the header list between requests. Each request also holds a permit of the
/// caller's concurrency limit while it is in flight. Made by ``CurlClient/openFeed(template:capacity:worker:tryAcquirePermit:releasePermit:source:)``.
package final class CurlFeed: @unchecked Sendable {
    let source: any CurlFeedSource
    let tryAcquirePermit: @Sendable () -> Bool
    let releasePermit: @Sendable () -> Void
    private let core: CurlCore
    // Worker thread only, from the first pull on:
    /// Slots not in flight.
    var idle: [CurlFeedRequest]
    /// Slots in flight, by easy handle.
    var sending: [UnsafeMutableRawPointer: CurlFeedRequest] = [:]
    /// No request starts any more.
    var closed = false
    /// The last fill stopped for want of a permit (held elsewhere, by export forwarding say): nothing starts
    /// until ``pull()``, as a permit coming back elsewhere does not wake this feed.
    private let permitMissed = Atomic<Bool>(false)

    init(core: CurlCore, requests: [CurlFeedRequest], tryAcquirePermit: @escaping @Sendable () -> Bool,
         releasePermit: @escaping @Sendable () -> Void, source: any CurlFeedSource) {
        self.core = core
        self.idle = requests
        self.tryAcquirePermit = tryAcquirePermit
        self.releasePermit = releasePermit
        self.source = source
    }

    /// Asks the worker to start what the source has to send (call after giving the source more).
    package func pull() {
        core.enqueue(feed: .pull(self))
    }

    /// Whether the feed stopped starting requests for want of a permit and waits for a ``pull()``.
    package var isWaitingForPermit: Bool { permitMissed.load(ordering: .relaxed) }

    /// Worker thread: the fill found no permit free (true), or took one (false).
    func notePermit(missed: Bool) {
        if permitMissed.load(ordering: .relaxed) != missed { permitMissed.store(missed, ordering: .relaxed) }
    }

    /// No more requests start. Those in flight finish, or with `abortReason` end at once (as cancelled);
    /// either way the source hears of each. Idempotent.
    package func close(abortReason: String? = nil) {
        core.enqueue(feed: .close(self, abortReason.map { .cancelled($0) }))
    }
}

extension CurlClient {
    /// A feed on worker thread `worker` (modulo the client's worker count) with `capacity` request slots,
    /// or nil when its easy handles cannot be made. Nothing starts before ``CurlFeed/pull()``.
    package func openFeed(template: CurlFeedTemplate, capacity: Int, worker: Int, tryAcquirePermit: @escaping @Sendable () -> Bool,
                          releasePermit: @escaping @Sendable () -> Void, source: any CurlFeedSource) -> CurlFeed? {
        let core = core(at: worker)
        var requests: [CurlFeedRequest] = []
        for _ in 0..<max(1, capacity) {
            guard let request = CurlFeedRequest(template: template, httpVersion: core.configuration.httpVersion) else { return nil }
            requests.append(request)
        }
        return CurlFeed(core: core, requests: requests, tryAcquirePermit: tryAcquirePermit, releasePermit: releasePermit, source: source)
    }
}

// MARK: - Worker thread

/// What the worker is asked to do with a feed.
enum FeedCommand: Sendable {
    case pull(CurlFeed)
    case close(CurlFeed, CurlError?)
}

extension CurlCore {
    /// Starts the feed's requests while it has an idle slot, a permit and something to send; true when one started.
    func fill(_ feed: CurlFeed) -> Bool {
        var started = false
        while !feed.closed, let request = feed.idle.popLast() {
            guard feed.tryAcquirePermit() else {
                feed.notePermit(missed: true)
                feed.idle.append(request)
                break
            }
            feed.notePermit(missed: false)
            request.clear()
            guard feed.source.writeNext(into: request) else {
                feed.idle.append(request)
                feed.releasePermit()
                break
            }
            if let failure = start(request) {
                feed.idle.append(request)
                feed.releasePermit()
                feed.source.ended(tag: request.tag, status: 0, error: failure)
                continue
            }
            feed.sending[request.easy.raw] = request
            started = true
        }
        return started
    }

    /// Adds a written request to the multi handle; the error when it cannot be sent.
    private func start(_ request: CurlFeedRequest) -> CurlError? {
        if let header = request.invalidHeader {
            return .invalidRequest("header '\(header)' contains CR, LF or NUL")
        }
        let rc = request.prepareToSend()
        guard rc == CURLE_OK else { return CurlError(code: rc, detail: request.easy.errorDetail) }
        let added = addToMulti(request.easy.raw)
        guard added == CURLM_OK else {
            return CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_multi_add_handle: \(String(cString: curl_multi_strerror(added)))", kind: .other)
        }
        return nil
    }

    /// A feed request libcurl reports done: its slot and permit go back, the source hears the outcome and
    /// the feed starts what it can; true when it started another.
    func finish(_ request: CurlFeedRequest, of feed: CurlFeed, code: CURLcode) -> Bool {
        feed.sending.removeValue(forKey: request.easy.raw)
        feed.idle.append(request)
        feed.releasePermit()
        if code == CURLE_OK {
            feed.source.ended(tag: request.tag, status: request.status, error: nil)
        } else {
            feed.source.ended(tag: request.tag, status: 0, error: CurlError(code: code, detail: request.easy.errorDetail))
        }
        return fill(feed)
    }

    /// Ends every request of `feed` in flight with `error` (removing it from the multi handle).
    func abort(_ feed: CurlFeed, _ error: CurlError) {
        for (raw, request) in feed.sending {
            removeFromMulti(raw)
            feed.idle.append(request)
            feed.releasePermit()
            feed.source.ended(tag: request.tag, status: 0, error: error)
        }
        feed.sending.removeAll()
    }
}
