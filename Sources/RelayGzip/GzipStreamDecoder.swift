// GzipStreamDecoder: streaming gunzip (zlib inflate) that hands out bounded pieces.

import CZlib
import RelayRecords

/// Decompresses a gzip body chunk by chunk. Output comes in pieces of at most ``pieceSize``
/// bytes, so a highly compressible chunk never expands into one huge buffer: after
/// ``setInput(_:)``, call ``nextPiece()`` until it returns nil, then give the next chunk.
/// Concatenated gzip members (`cat a.gz b.gz`) decode as one stream. After the last chunk,
/// ``finish()`` reports a body that stopped in the middle of a member.
///
/// Owns one zlib `z_stream`, freed in `deinit`. Used by one task at a time.
package final class GzipStreamDecoder {
    /// Default upper bound of one decompressed piece: 256 KiB.
    package static let defaultPieceSize = 256 * 1024

    /// The largest piece ``nextPiece()`` returns.
    package let pieceSize: Int
    private let stream: UnsafeMutablePointer<z_stream>
    private let initialized: Bool
    private var input: [UInt8] = []
    private var inputOffset = 0
    /// True between a member's end and the first byte of the next one.
    private var atMemberBoundary = true
    /// True once a member has ended, so the next one needs `inflateReset`.
    private var sawMemberEnd = false
    /// True once any compressed byte has been given.
    private var sawInput = false
    private var failure: ExportDataError?

    /// Creates a decoder whose pieces are at most `pieceSize` bytes (at least 1).
    package init(pieceSize: Int = GzipStreamDecoder.defaultPieceSize) {
        self.pieceSize = max(1, pieceSize)
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = relay_inflate_init_gzip(stream)
        initialized = status == Z_OK
        if !initialized {
            failure = ExportDataError(kind: .corruptGzip, line: nil, reason: "zlib inflateInit2 failed (\(status))")
        }
    }

    deinit {
        if initialized { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// True when `firstBytes` start with the gzip magic number (1f 8b).
    package static func looksGzipped(_ firstBytes: some Collection<UInt8>) -> Bool {
        var iterator = firstBytes.makeIterator()
        return iterator.next() == 0x1F && iterator.next() == 0x8B
    }

    /// Gives the next compressed chunk. Call it only after ``nextPiece()`` returned nil: any
    /// unread rest of the previous chunk is dropped.
    package func setInput(_ chunk: [UInt8]) {
        input = chunk
        inputOffset = 0
        if !chunk.isEmpty { sawInput = true }
    }

    /// The next piece of decompressed bytes (1 to ``pieceSize`` bytes), or nil when the current
    /// input is used up and more is needed.
    package func nextPiece() throws(ExportDataError) -> [UInt8]? {
        if let failure { throw failure }
        var status: Int32 = Z_OK
        let piece = [UInt8](unsafeUninitializedCapacity: pieceSize) { output, produced in
            produced = 0
            guard let outputBase = output.baseAddress else { return }
            input.withUnsafeBufferPointer { inputBuffer in
                // With no input left, inflate may still owe output from the last input.
                while produced < pieceSize {
                    let available = inputBuffer.count - inputOffset
                    if atMemberBoundary {
                        // Between members only more input can start the next one.
                        guard available > 0 else { return }
                        if sawMemberEnd {
                            status = inflateReset(stream)
                            guard status == Z_OK else { return }
                        }
                        atMemberBoundary = false
                    }
                    stream.pointee.next_in = inputBuffer.baseAddress.map { UnsafeMutablePointer(mutating: $0 + inputOffset) }
                    stream.pointee.avail_in = UInt32(clamping: available)
                    stream.pointee.next_out = outputBase + produced
                    stream.pointee.avail_out = UInt32(clamping: pieceSize - produced)
                    status = inflate(stream, Z_NO_FLUSH)
                    let consumed = available - Int(stream.pointee.avail_in)
                    let made = (pieceSize - produced) - Int(stream.pointee.avail_out)
                    inputOffset += consumed
                    produced += made
                    switch status {
                    case Z_STREAM_END:
                        atMemberBoundary = true
                        sawMemberEnd = true
                        status = Z_OK
                    case Z_OK:
                        if consumed == 0 && made == 0 { return }
                    case Z_BUF_ERROR:
                        // No progress possible: the input is used up.
                        status = Z_OK
                        return
                    default:
                        return
                    }
                }
            }
        }
        if status != Z_OK {
            let error = Self.error(status: status, message: stream.pointee.msg)
            failure = error
            throw error
        }
        if inputOffset >= input.count, !input.isEmpty {
            input = []
            inputOffset = 0
        }
        return piece.isEmpty ? nil : piece
    }

    /// Confirms the body ended on a member boundary; throws when it was cut short.
    package func finish() throws(ExportDataError) {
        if let failure { throw failure }
        guard sawInput else {
            throw ExportDataError(kind: .truncatedGzip, line: nil, reason: "gzip body is empty")
        }
        guard atMemberBoundary else {
            throw ExportDataError(kind: .truncatedGzip, line: nil, reason: "gzip body ended in the middle of a member (truncated download?)")
        }
    }

    private static func error(status: Int32, message: UnsafeMutablePointer<CChar>?) -> ExportDataError {
        let detail = message.map { String(cString: $0) } ?? "zlib status \(status)"
        return ExportDataError(kind: .corruptGzip, line: nil, reason: "corrupt gzip data: \(detail)")
    }
}
