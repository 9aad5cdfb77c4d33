// CurlClient: the async HTTP client on libcurl's multi interface (buffered and streaming requests).

import Logging
import Synchronization

/// An HTTP client for many concurrent requests. Dedicated threads (``CurlClientConfiguration/workerThreads``,
/// each with its own multi handle) drive libcurl's multi interface; callers only configure a transfer,
/// queue it and await the outcome, so neither Swift's cooperative pool nor event loops ever block.
/// Connections are kept alive and reused across requests. Call ``shutdown()`` when done (deinit does it too).
package final class CurlClient: Sendable {
    private let cores: [CurlCore]
    private let turn = Atomic<Int>(0)

    package init(configuration: CurlClientConfiguration = CurlClientConfiguration(), logger: Logger) {
        let share = configuration.perWorker
        cores = (0..<configuration.workerThreads).map { index in
            let core = CurlCore(configuration: share, logger: logger, threadName: configuration.workerThreads == 1 ? "relay-curl" : "relay-curl-\(index)")
            core.start()
            return core
        }
    }

    deinit {
        for core in cores { core.shutdown() }
    }

    /// How many worker threads (each with its own multi handle and connections) the client runs.
    package var workerCount: Int { cores.count }

    /// Worker `index`, modulo the worker count.
    func core(at index: Int) -> CurlCore {
        cores[((index % cores.count) + cores.count) % cores.count]
    }

    /// The worker for the next request, in turn.
    private var nextCore: CurlCore {
        cores.count == 1 ? cores[0] : cores[turn.wrappingAdd(1, ordering: .relaxed).oldValue % cores.count]
    }

    /// Buffered request: returns the status, headers and at most `maxBodyBytes` of the body.
    /// Every HTTP status is a result; only transport failures throw. Cancelling the calling
    /// task aborts the transfer with `CurlError.Kind.cancelled`.
    package func execute(_ request: HTTPRequestSpec, maxBodyBytes: Int = 64 * 1024) async throws(CurlError) -> HTTPResult {
        let core = nextCore
        let transfer = try Transfer.make(request, configuration: core.configuration, pool: core.pool, maxBodyBytes: maxBodyBytes, streaming: false)
        let failure: CurlError? = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                transfer.completion = continuation
                if let refused = core.submit(transfer) {
                    transfer.completion = nil
                    continuation.resume(returning: refused)
                }
            }
        } onCancel: {
            core.cancel(transfer, .cancelled("the calling task was cancelled"))
        }
        if let failure { throw failure }
        return transfer.result()
    }

    /// Runs `count` buffered requests on one worker thread, which asks `handlers.request` for each in
    /// turn as a slot frees and reports each outcome to `handlers.completed`, so the caller suspends once
    /// for the whole batch instead of once per request. The batch starts with `slots` slots (at least one,
    /// taken by the caller; they are the batch's to give back through `handlers.releaseSlot` from then on),
    /// takes more with `handlers.tryAcquireSlot` while all are busy, up to `window` at once, and gives back
    /// each one it has no item left for; while `handlers.slotWanted` it takes none beyond `share` and gives
    /// back each one beyond it as its request ends (so concurrent batches end up with a share each). Batches go to the worker running the fewest, so concurrent batches
    /// run on different threads. Returns once every started request has ended. Cancelling the calling task
    /// aborts the requests in flight (`CurlError.Kind.cancelled`); the rest never start, and neither do any
    /// once the client is shut down (in-flight ones end with `CurlError.Kind.shutdown`).
    package func executeBatch(
        count: Int, holding slots: Int, window: Int, share: Int, maxBodyBytes: Int = 64 * 1024, handlers: CurlBatchHandlers
    ) async {
        let batch = CurlBatch(
            count: max(0, count), holding: max(0, slots), window: window, share: share, maxBodyBytes: maxBodyBytes, handlers: handlers
        )
        let core = leastBusyCore
        core.activeBatches.add(1, ordering: .relaxed)
        defer { core.activeBatches.subtract(1, ordering: .relaxed) }
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                batch.completion = continuation
                if core.submit(batch) != nil {
                    // Never reached the worker: nothing started, so the slots are still the caller's to return here.
                    batch.stopped = true
                    batch.resumeCaller()
                }
            }
        } onCancel: {
            core.cancel(batch, .cancelled("the calling task was cancelled"))
        }
    }

    /// The worker with the fewest batches running (the next in turn among equals).
    private var leastBusyCore: CurlCore {
        if cores.count == 1 { return cores[0] }
        let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        var best = cores[start % cores.count]
        var bestLoad = best.activeBatches.load(ordering: .relaxed)
        for offset in 1..<cores.count where bestLoad > 0 {
            let core = cores[(start + offset) % cores.count]
            let load = core.activeBatches.load(ordering: .relaxed)
            if load < bestLoad { (best, bestLoad) = (core, load) }
        }
        return best
    }

    /// Streaming download with back-pressure: returns once the final response head has
    /// arrived; the body follows as chunks of ``CurlBodyStream``. While the consumer does not
    /// pull, the transfer is paused, so memory stays bounded. `totalTimeout` covers the whole
    /// body, paused time included (`.zero` for none). Cancelling the consumer aborts the transfer.
    package func stream(_ request: HTTPRequestSpec) async throws(CurlError) -> (HTTPResponseHead, CurlBodyStream) {
        let core = nextCore
        let transfer = try Transfer.make(request, configuration: core.configuration, pool: core.pool, maxBodyBytes: 0, streaming: true)
        // Owning the reader from here on means an abandoned stream aborts its transfer.
        let reader = StreamReader(transfer: transfer, core: core)
        let head: Result<HTTPResponseHead, CurlError> = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                transfer.headContinuation = continuation
                if let refused = core.submit(transfer) {
                    transfer.headContinuation = nil
                    continuation.resume(returning: .failure(refused))
                }
            }
        } onCancel: {
            core.cancel(transfer, .cancelled("the calling task was cancelled"))
        }
        return (try head.get(), CurlBodyStream(reader: reader))
    }

    /// Stops the worker thread; requests in flight or queued fail with
    /// `CurlError.Kind.shutdown`, later ones too. Idempotent.
    package func shutdown() {
        for core in cores { core.shutdown() }
    }
}
