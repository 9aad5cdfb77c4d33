// CurlClient: the async HTTP client on libcurl's multi interface (buffered and streaming requests).

import Logging

/// An HTTP client for many concurrent requests. One dedicated thread drives libcurl's multi
/// interface; callers only configure a transfer, queue it and await the outcome, so neither
/// Swift's cooperative pool nor event loops ever block. Connections are kept alive and reused
/// across requests. Call ``shutdown()`` when done (deinit does it too).
public final class CurlClient: Sendable {
    private let core: CurlCore

    public init(configuration: CurlClientConfiguration = CurlClientConfiguration(), logger: Logger) {
        core = CurlCore(configuration: configuration, logger: logger)
        core.start()
    }

    deinit {
        core.shutdown()
    }

    /// Buffered request: returns the status, headers and at most `maxBodyBytes` of the body.
    /// Every HTTP status is a result; only transport failures throw. Cancelling the calling
    /// task aborts the transfer with `CurlError.Kind.cancelled`.
    public func execute(_ request: HTTPRequestSpec, maxBodyBytes: Int = 64 * 1024) async throws(CurlError) -> HTTPResult {
        let transfer = try Transfer.make(request, configuration: core.configuration, pool: core.pool, maxBodyBytes: maxBodyBytes, streaming: false)
        let core = self.core
        let failure: CurlError? = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                transfer.completion = continuation
                switch core.submit(transfer) {
                case .submitted:
                    break
                case .shutDown:
                    transfer.completion = nil
                    continuation.resume(returning: .shutdown)
                case .cancelled:
                    transfer.completion = nil
                    continuation.resume(returning: .cancelled("the calling task was cancelled"))
                }
            }
        } onCancel: {
            core.cancel(transfer, .cancelled("the calling task was cancelled"))
        }
        if let failure { throw failure }
        return transfer.result(for: request)
    }

    /// Streaming download with back-pressure: returns once the final response head has
    /// arrived; the body follows as chunks of ``CurlBodyStream``. While the consumer does not
    /// pull, the transfer is paused, so memory stays bounded. `totalTimeout` covers the whole
    /// body, paused time included (`.zero` for none). Cancelling the consumer aborts the transfer.
    public func stream(_ request: HTTPRequestSpec) async throws(CurlError) -> (HTTPResponseHead, CurlBodyStream) {
        let transfer = try Transfer.make(request, configuration: core.configuration, pool: core.pool, maxBodyBytes: 0, streaming: true)
        let core = self.core
        // Owning the reader from here on means an abandoned stream aborts its transfer.
        let reader = StreamReader(transfer: transfer, core: core)
        let head: Result<HTTPResponseHead, CurlError> = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                transfer.headContinuation = continuation
                switch core.submit(transfer) {
                case .submitted:
                    break
                case .shutDown:
                    transfer.headContinuation = nil
                    continuation.resume(returning: .failure(.shutdown))
                case .cancelled:
                    transfer.headContinuation = nil
                    continuation.resume(returning: .failure(.cancelled("the calling task was cancelled")))
                }
            }
        } onCancel: {
            core.cancel(transfer, .cancelled("the calling task was cancelled"))
        }
        return (try head.get(), CurlBodyStream(reader: reader))
    }

    /// Stops the worker thread; requests in flight or queued fail with
    /// `CurlError.Kind.shutdown`, later ones too. Idempotent.
    public func shutdown() {
        core.shutdown()
    }
}
