// Bounded hand-off of body chunks from the worker thread to one consumer, with pause/resume.

import CCurl
import Synchronization

/// The chunks of a streamed body that the consumer has not pulled yet. The worker offers each
/// chunk libcurl writes; past `limit` buffered bytes the offer answers `CURL_WRITEFUNC_PAUSE`
/// (libcurl keeps that chunk and stops reading the socket) and the consumer asks the worker to
/// unpause once it has drained the buffer to half.
final class StreamBuffer: Sendable {
    typealias Waiter = UnsafeContinuation<Result<[UInt8]?, CurlError>, Never>

    private struct State {
        var chunks: [[UInt8]] = []
        var bufferedBytes = 0
        var highWaterBytes = 0
        var waiter: Waiter?
        /// Set once: nil failure is a complete body.
        var end: CurlError?? = nil
        var endDelivered = false
        var paused = false
        var resumeRequested = false
    }

    /// What a consumer's pull found.
    enum Pull {
        case chunk([UInt8])
        case end(CurlError?)
        case waiting
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) {
        self.limit = limit
    }

    /// Most bytes held at once (for tests and diagnostics).
    var highWaterBytes: Int { state.withLock { $0.highWaterBytes } }

    var isFinished: Bool { state.withLock { $0.end != nil } }

    // MARK: Worker side

    /// libcurl's write callback for a streamed body: the number of bytes taken, the pause
    /// value, or 0 (abort) when the consumer is gone.
    func offer(_ bytes: UnsafeRawBufferPointer) -> Int {
        enum Action { case deliver(Waiter), taken, pause, abort }
        let chunk = [UInt8](bytes)
        let action: Action = state.withLock { s in
            if s.end != nil { return .abort }
            if let waiter = s.waiter {
                s.waiter = nil
                return .deliver(waiter)
            }
            if s.bufferedBytes >= limit {
                s.paused = true
                return .pause
            }
            s.bufferedBytes += chunk.count
            s.highWaterBytes = max(s.highWaterBytes, s.bufferedBytes)
            s.chunks.append(chunk)
            return .taken
        }
        switch action {
        case .deliver(let waiter):
            waiter.resume(returning: .success(chunk))
            return bytes.count
        case .taken:
            return bytes.count
        case .pause:
            return relay_curl_writefunc_pause()
        case .abort:
            return 0
        }
    }

    /// Called by the worker right before `curl_easy_pause(CURLPAUSE_CONT)`.
    func willUnpause() {
        state.withLock { s in
            s.paused = false
            s.resumeRequested = false
        }
    }

    /// The transfer ended; the consumer gets the remaining chunks, then this outcome.
    func finish(_ failure: CurlError?) {
        let waiter: Waiter? = state.withLock { s in
            if s.end == nil { s.end = .some(failure) }
            // A parked pull means the buffer is empty: the end goes straight to it.
            guard let waiter = s.waiter else { return nil }
            s.waiter = nil
            s.endDelivered = true
            return waiter
        }
        waiter?.resume(returning: failure.map { .failure($0) } ?? .success(nil))
    }

    // MARK: Consumer side

    /// Takes the next chunk or the end, or parks `waiter` (when given) until one arrives.
    /// `needsResume` tells the caller to ask the worker to unpause the transfer.
    func pull(installing waiter: Waiter?) -> (pull: Pull, needsResume: Bool) {
        state.withLock { s in
            let pull: Pull
            if !s.chunks.isEmpty {
                let chunk = s.chunks.removeFirst()
                s.bufferedBytes -= chunk.count
                pull = .chunk(chunk)
            } else if let end = s.end {
                if s.endDelivered { return (.end(nil), false) }
                s.endDelivered = true
                return (.end(end), false)
            } else {
                if let waiter { s.waiter = waiter }
                pull = .waiting
            }
            guard s.paused, !s.resumeRequested, s.bufferedBytes <= limit / 2 else { return (pull, false) }
            s.resumeRequested = true
            return (pull, true)
        }
    }

    /// The consumer gave up: drop the buffer and fail a parked pull. Returns whether the
    /// transfer was still running (so the worker has to abort it).
    @discardableResult
    func abandon(_ error: CurlError) -> Bool {
        let (waiter, wasRunning): (Waiter?, Bool) = state.withLock { s in
            let wasRunning = s.end == nil
            // Dropping unread chunks of a finished transfer turns its clean end into this error:
            // a reader must never take a cut-off body for a complete one.
            if wasRunning || !s.chunks.isEmpty { s.end = .some(error) }
            s.chunks.removeAll()
            s.bufferedBytes = 0
            let waiter = s.waiter
            s.waiter = nil
            if waiter != nil { s.endDelivered = true }
            return (waiter, wasRunning)
        }
        waiter?.resume(returning: .failure(error))
        return wasRunning
    }
}
