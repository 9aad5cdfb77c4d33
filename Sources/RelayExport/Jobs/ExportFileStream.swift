// One export file's body as decoded pieces: counts and hashes the bytes as received, enforces the size cap, gunzips.
import Crypto
import RelayCurl
import RelayGzip

/// Pulls the response body (the transfer pauses while nobody pulls, so memory stays bounded;
/// the fetcher's body enforces the size cap), and hands out the file's bytes in pieces of bounded size, gunzipped when the response said
/// `Content-Encoding: gzip` or the bytes start with the gzip magic (`.gz` served as octet-stream).
struct ExportFileStream {
    let url: String
    private var iterator: ExportBody.AsyncIterator?
    private let stallTimeout: Duration
    private var decoder: GzipStreamDecoder?
    private let announcedGzip: Bool
    /// Bytes received before deciding whether they are gzip (the magic is two bytes long).
    private var undecided: [UInt8] = []
    private var decided = false
    private var ended = false
    private var hasher = SHA256()
    private(set) var bytesReceived: Int64 = 0

    init(response: ExportResponse, stallTimeout: Duration) {
        self.url = response.url.text
        self.stallTimeout = stallTimeout
        self.iterator = response.body.makeAsyncIterator()
        let encoding = response.head.header("Content-Encoding")?.lowercased() ?? ""
        self.announcedGzip = encoding.contains("gzip")
    }

    /// Hex SHA-256 of every byte received so far (call once, at the end).
    mutating func sha256Hex() -> String {
        hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The next piece of the file's content, nil at its end.
    mutating func next() async throws(ExportJobFailure) -> [UInt8]? {
        while true {
            if let decoder {
                do {
                    if let piece = try decoder.nextPiece() { return piece }
                } catch {
                    throw .dead("\(ExportURLs.redacted(url)): the gzip data is corrupt (\(error))")
                }
            }
            if ended { return nil }
            let chunk = try await nextChunk()
            guard let chunk else {
                ended = true
                if !decided, let piece = decide(with: []) { return piece }
                if let decoder {
                    do {
                        try decoder.finish()
                    } catch {
                        throw .retry("\(ExportURLs.redacted(url)): the gzip stream ended early after \(bytesReceived) bytes (\(error))")
                    }
                }
                continue
            }
            bytesReceived += Int64(chunk.count)
            hasher.update(data: chunk)
            if decided {
                if let decoder { decoder.setInput(chunk) } else { return chunk }
            } else if let piece = decide(with: chunk) {
                return piece
            }
        }
    }

    /// The next chunk of the body, or a retry failure when none arrives within `stallTimeout`
    /// (the transfer is then aborted). The iterator moves into the waiting task and back.
    private mutating func nextChunk() async throws(ExportJobFailure) -> [UInt8]? {
        guard let current = iterator else { return nil }
        iterator = nil
        let timeout = stallTimeout
        let outcome = await withTaskGroup(of: ChunkWait.self) { group -> ChunkWait in
            group.addTask {
                var moving = current
                do throws(ExportFetchFailure) {
                    let chunk = try await moving.next()
                    return .chunk(chunk, moving)
                } catch {
                    return .failed(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .stalled
            }
            let first = await group.next() ?? .stalled
            group.cancelAll()
            return first
        }
        switch outcome {
        case .chunk(let chunk, let advanced):
            // A cancelled read may end early; only an uncancelled end of body is the file's end.
            if chunk == nil, Task.isCancelled { throw .retry("cancelled while downloading \(ExportURLs.redacted(url))") }
            iterator = advanced
            return chunk
        case .failed(let error):
            throw ExportJobFailure(error)
        case .stalled:
            if Task.isCancelled { throw .retry("cancelled while downloading \(ExportURLs.redacted(url))") }
            throw .retry("\(ExportURLs.redacted(url)): no data for \(timeout) after \(bytesReceived) bytes (the source's export.stallTimeout)")
        }
    }

    private enum ChunkWait: Sendable {
        case chunk([UInt8]?, ExportBody.AsyncIterator)
        case failed(ExportFetchFailure)
        case stalled
    }

    /// Once two bytes are known (or the body ended), picks gunzip or pass-through; returns the
    /// bytes to hand out now when passing through.
    private mutating func decide(with chunk: [UInt8]) -> [UInt8]? {
        undecided.append(contentsOf: chunk)
        guard undecided.count >= 2 || ended else { return nil }
        decided = true
        let bytes = undecided
        undecided = []
        if announcedGzip || GzipStreamDecoder.looksGzipped(bytes) {
            let decoder = GzipStreamDecoder()
            decoder.setInput(bytes)
            self.decoder = decoder
            return nil
        }
        return bytes.isEmpty ? nil : bytes
    }
}
