// Reads a request body into memory while enforcing the size limit as bytes arrive.
import Hummingbird

enum BodyReader {
    struct TooLarge: Error {}

    /// Collects at most `limit` bytes; throws `TooLarge` as soon as more arrive, without buffering the rest.
    static func read(_ body: RequestBody, limit: Int, expected: Int?) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(expected ?? 1024, limit))
        for try await buffer in body {
            if bytes.count + buffer.readableBytes > limit { throw TooLarge() }
            buffer.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }
}
