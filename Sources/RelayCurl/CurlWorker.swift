// The worker: one dedicated thread that owns the CURLM handle, drains the command queue and
// drives curl_multi_perform / curl_multi_poll. Other threads only enqueue and wake it.

import CCurl
import Dispatch
import Foundation
import Logging
import Synchronization

/// What other threads ask of the worker.
enum WorkerCommand: Sendable {
    /// Start a configured transfer.
    case add(Transfer)
    /// Abort a transfer (cancelled task, dropped stream) with this error.
    case cancel(Transfer, CurlError)
    /// Unpause a streamed transfer whose consumer caught up.
    case resume(Transfer)
    /// Start a batch: the worker starts its requests as slots allow, until each has ended.
    case batch(CurlBatch)
    /// Abort a batch: requests in flight end with this error, the rest never start.
    case cancelBatch(CurlBatch, CurlError)
    /// Start what a feed has to send, or close it.
    case feed(FeedCommand)
}

/// The multi handle and the queue into the worker thread. Shared by the client, the worker
/// thread and live body streams; everything but `curl_multi_wakeup` on `multi` happens on the
/// worker thread.
final class CurlCore: Sendable {
    private struct Queue {
        var commands: [WorkerCommand] = []
        /// The worker is in (or about to enter) `curl_multi_poll` and must be woken for new commands.
        var polling = false
        var wakePending = false
        var shuttingDown = false
    }

    /// `CURLM *`; freed by the worker thread when it stops (never while anyone may wake it).
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let queue = Mutex(Queue())
    private let stopped = DispatchSemaphore(value: 0)
    let pool: EasyHandlePool
    /// Batches submitted to this worker and not yet returned (to spread batches over workers).
    let activeBatches = Atomic<Int>(0)
    let configuration: CurlClientConfiguration
    let logger: Logger
    private let threadName: String
    /// The feeds pulled and not yet closed with nothing in flight. Worker thread only.
    private nonisolated(unsafe) var feeds: [ObjectIdentifier: CurlFeed] = [:]

    init(configuration: CurlClientConfiguration, logger: Logger, threadName: String = "relay-curl") {
        self.threadName = threadName
        guard CurlGlobal.initialized, let multi = curl_multi_init() else {
            fatalError("libcurl could not be initialised (out of memory)")
        }
        self.multi = multi
        self.configuration = configuration
        self.logger = logger
        pool = EasyHandlePool(capacity: max(64, configuration.maxTotalConnections * 2))
        _ = relay_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max(0, configuration.maxTotalConnections))
        _ = relay_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, configuration.maxConnectionsPerHost))
        _ = relay_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, configuration.maxTotalConnections))
    }

    /// Starts the worker thread; call once.
    func start() {
        Thread { [self] in run() }.start()
    }

    // MARK: Any thread

    /// Hands a configured transfer to the worker; nil once queued, else why not (shut down, or cancelled first).
    func submit(_ transfer: Transfer) -> CurlError? {
        queue.withLock { q in
            if q.shuttingDown { return .shutdown }
            if transfer.cancelRequested { return .cancelled("the calling task was cancelled") }
            enqueue(.add(transfer), &q)
            return nil
        }
    }

    /// Hands a batch to the worker; nil once queued, else why not (shut down, or cancelled first).
    func submit(_ batch: CurlBatch) -> CurlError? {
        queue.withLock { q in
            if q.shuttingDown { return .shutdown }
            if batch.cancelRequested { return .cancelled("the calling task was cancelled") }
            enqueue(.batch(batch), &q)
            return nil
        }
    }

    /// Asks the worker to abort `batch`; a batch not yet submitted will never start.
    func cancel(_ batch: CurlBatch, _ error: CurlError) {
        queue.withLock { q in
            batch.cancelRequested = true
            if !q.shuttingDown { enqueue(.cancelBatch(batch, error), &q) }
        }
    }

    /// Asks the worker to abort `transfer`; a transfer not yet submitted will never start.
    func cancel(_ transfer: Transfer, _ error: CurlError) {
        queue.withLock { q in
            transfer.cancelRequested = true
            if !q.shuttingDown { enqueue(.cancel(transfer, error), &q) }
        }
    }

    /// Hands a feed command to the worker (dropped once it is shutting down: it has ended every feed then).
    func enqueue(feed command: FeedCommand) {
        queue.withLock { q in
            if !q.shuttingDown { enqueue(.feed(command), &q) }
        }
    }

    /// Asks the worker to unpause a streamed transfer.
    func resume(_ transfer: Transfer) {
        queue.withLock { q in
            if !q.shuttingDown { enqueue(.resume(transfer), &q) }
        }
    }

    /// Wakes the worker only when it sleeps in `curl_multi_poll`, at most once per sleep (a busy
    /// worker drains the queue before it polls again). Done under the lock so that the multi
    /// handle cannot be freed in between.
    private func enqueue(_ command: WorkerCommand, _ q: inout Queue) {
        q.commands.append(command)
        if q.polling && !q.wakePending {
            q.wakePending = true
            _ = curl_multi_wakeup(multi)
        }
    }

    /// Stops the worker: transfers in flight and queued fail with `CurlError.Kind.shutdown`,
    /// connections close. Waits (up to 5 s) for the worker to finish. Idempotent.
    func shutdown() {
        let first: Bool = queue.withLock { q in
            guard !q.shuttingDown else { return false }
            q.shuttingDown = true
            _ = curl_multi_wakeup(multi)
            return true
        }
        guard first else { return }
        if stopped.wait(timeout: .now() + .seconds(5)) == .timedOut {
            logger.warning("curl worker did not stop within 5 s")
        }
    }

    // MARK: Worker thread

    private func run() {
        logger.debug("curl worker started")
        var inFlight: [UnsafeMutableRawPointer: Transfer] = [:]
        var batch: [WorkerCommand] = []
        batch.reserveCapacity(64)
        var running: Int32 = 0
        var stopping = false
        Thread.current.name = threadName
        while !stopping {
            stopping = queue.withLock { q in
                swap(&q.commands, &batch)
                q.polling = false
                q.wakePending = false
                return q.shuttingDown
            }
            for command in batch {
                apply(command, &inFlight, stopping: stopping)
            }
            batch.removeAll(keepingCapacity: true)
            if stopping { break }
            _ = curl_multi_perform(multi, &running)
            if collectCompleted(&inFlight) {
                // Batches started new requests in place of finished ones: send them before sleeping.
                _ = curl_multi_perform(multi, &running)
                _ = collectCompleted(&inFlight)
            }
            // Sleep only when nothing arrived meanwhile; otherwise go round again at once.
            let idle: Bool = queue.withLock { q in
                guard q.commands.isEmpty && !q.shuttingDown else { return false }
                q.polling = true
                return true
            }
            if idle {
                _ = curl_multi_poll(multi, nil, 0, 1000, nil)
            }
        }
        var batches: [ObjectIdentifier: CurlBatch] = [:]
        for (raw, transfer) in inFlight {
            _ = curl_multi_remove_handle(multi, raw)
            transfer.finish(.shutdown)
            if let batch = transfer.batch {
                batch.stopped = true
                batch.requestEnded()
                batches[ObjectIdentifier(batch)] = batch
            }
        }
        inFlight.removeAll()
        for feed in feeds.values {
            feed.closed = true
            abort(feed, .shutdown)
        }
        feeds.removeAll()
        for batch in batches.values where batch.isFinished {
            batch.resumeCaller()
        }
        curl_multi_cleanup(multi)
        logger.debug("curl worker stopped")
        stopped.signal()
    }

    private func apply(_ command: WorkerCommand, _ inFlight: inout [UnsafeMutableRawPointer: Transfer], stopping: Bool) {
        switch command {
        case .add(let transfer):
            if stopping {
                transfer.finish(.shutdown)
                return
            }
            let rc = curl_multi_add_handle(multi, transfer.easy.raw)
            if rc == CURLM_OK {
                inFlight[transfer.easy.raw] = transfer
            } else {
                let message = String(cString: curl_multi_strerror(rc))
                transfer.finish(CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_multi_add_handle: \(message)", kind: .other))
            }
        case .cancel(let transfer, let error):
            if inFlight.removeValue(forKey: transfer.easy.raw) != nil {
                _ = curl_multi_remove_handle(multi, transfer.easy.raw)
                transfer.finish(error)
            }
        case .resume(let transfer):
            if inFlight[transfer.easy.raw] != nil, let stream = transfer.stream {
                stream.willUnpause()
                _ = curl_easy_pause(transfer.easy.raw, relay_curl_pause_cont())
            }
        case .batch(let batch):
            if stopping { batch.stopped = true }
            advance(batch, &inFlight)
        case .feed(.pull(let feed)):
            guard !stopping, !feed.closed else { return }
            feeds[ObjectIdentifier(feed)] = feed
            _ = fill(feed)
        case .feed(.close(let feed, let abortError)):
            feed.closed = true
            if let abortError { abort(feed, abortError) }
            if feed.sending.isEmpty { feeds.removeValue(forKey: ObjectIdentifier(feed)) }
        case .cancelBatch(let batch, let error):
            guard !batch.stopped else { return }
            batch.stopped = true
            let running = inFlight.filter { $0.value.batch === batch }
            for (raw, transfer) in running {
                inFlight.removeValue(forKey: raw)
                _ = curl_multi_remove_handle(multi, raw)
                transfer.finish(error)
                batch.requestEnded()
            }
            advance(batch, &inFlight)
        }
    }

    func addToMulti(_ easy: UnsafeMutableRawPointer) -> CURLMcode {
        curl_multi_add_handle(multi, easy)
    }

    func removeFromMulti(_ easy: UnsafeMutableRawPointer) {
        _ = curl_multi_remove_handle(multi, easy)
    }

    /// Starts the batch's next requests while it has (or can take) free slots; wakes its caller once
    /// every request has ended.
    private func advance(_ batch: CurlBatch, _ inFlight: inout [UnsafeMutableRawPointer: Transfer]) {
        while batch.mayStartAnother() {
            let index = batch.next
            batch.next += 1
            guard let request = batch.handlers.request(index) else { continue }
            let transfer: Transfer
            do {
                transfer = try Transfer.make(request, configuration: configuration, pool: pool, maxBodyBytes: batch.maxBodyBytes, streaming: false)
            } catch {
                batch.handlers.completed(index, .failure(error))
                continue
            }
            transfer.batch = batch
            transfer.batchIndex = index
            let rc = curl_multi_add_handle(multi, transfer.easy.raw)
            guard rc == CURLM_OK else {
                let message = String(cString: curl_multi_strerror(rc))
                batch.handlers.completed(index, .failure(CurlError(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_multi_add_handle: \(message)", kind: .other)))
                continue
            }
            inFlight[transfer.easy.raw] = transfer
            batch.inFlight += 1
        }
        if batch.isFinished {
            batch.resumeCaller()
        } else if batch.next >= batch.count {
            batch.releaseUnused()
        }
    }

    /// Ends the transfers libcurl reports done; true when batches started others in their place.
    private func collectCompleted(_ inFlight: inout [UnsafeMutableRawPointer: Transfer]) -> Bool {
        var started = false
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let raw = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            _ = curl_multi_remove_handle(multi, raw)
            guard let transfer = inFlight.removeValue(forKey: raw) else {
                for feed in feeds.values {
                    guard let request = feed.sending[raw] else { continue }
                    started = finish(request, of: feed, code: code) || started
                    if feed.closed && feed.sending.isEmpty { feeds.removeValue(forKey: ObjectIdentifier(feed)) }
                    break
                }
                continue
            }
            transfer.finish(code == CURLE_OK ? nil : CurlError(code: code, detail: transfer.easy.errorDetail))
            if let batch = transfer.batch {
                batch.requestEnded()
                let before = batch.inFlight
                advance(batch, &inFlight)
                started = started || batch.inFlight > before
            }
        }
        return started
    }
}
