// CurlBodyStream: a streamed response body as an AsyncSequence of byte chunks, with back-pressure.

/// The body of a ``CurlClient/stream(_:)`` response. At most about
/// ``CurlClientConfiguration/streamBufferBytes`` wait here; when the consumer stops pulling, the
/// transfer pauses. Cancelling the consuming task, or dropping every copy of the stream and its
/// iterators, aborts the transfer. Iterate it once.
package struct CurlBodyStream: AsyncSequence, Sendable {
    package typealias Element = [UInt8]
    package typealias Failure = CurlError

    let reader: StreamReader

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader)
    }

    /// Most bytes that were buffered at once, not yet pulled (for tests and diagnostics).
    var highWaterBytes: Int { reader.transfer.stream?.highWaterBytes ?? 0 }

    package struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        let reader: StreamReader

        /// The next chunk, nil at the end of the body, or the error that ended the transfer.
        package mutating func next() async throws(CurlError) -> [UInt8]? {
            try await reader.next()
        }

        package mutating func next(isolation actor: isolated (any Actor)?) async throws(CurlError) -> [UInt8]? {
            try await reader.next()
        }
    }
}

/// Consumer side of one streamed transfer; aborts the transfer when the last reference goes.
final class StreamReader: Sendable {
    let transfer: Transfer
    private let core: CurlCore

    init(transfer: Transfer, core: CurlCore) {
        self.transfer = transfer
        self.core = core
    }

    deinit {
        if let stream = transfer.stream, stream.abandon(.cancelled("the body stream was dropped")) {
            core.cancel(transfer, .cancelled("the body stream was dropped"))
        }
    }

    func next() async throws(CurlError) -> [UInt8]? {
        guard let stream = transfer.stream else { return nil }
        if Task.isCancelled {
            abandon(stream)
        }
        let (fast, needsResume) = stream.pull(installing: nil)
        if needsResume { core.resume(transfer) }
        switch fast {
        case .chunk(let chunk):
            return chunk
        case .end(let failure):
            if let failure { throw failure }
            return nil
        case .waiting:
            break
        }
        let result: Result<[UInt8]?, CurlError> = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                let (pull, needsResume) = stream.pull(installing: continuation)
                if needsResume { core.resume(transfer) }
                switch pull {
                case .chunk(let chunk):
                    continuation.resume(returning: .success(chunk))
                case .end(let failure):
                    continuation.resume(returning: failure.map { .failure($0) } ?? .success(nil))
                case .waiting:
                    break
                }
            }
        } onCancel: {
            self.abandon(stream)
        }
        return try result.get()
    }

    private func abandon(_ stream: StreamBuffer) {
        let error = CurlError.cancelled("the consuming task was cancelled")
        if stream.abandon(error) {
            core.cancel(transfer, error)
        }
    }
}
