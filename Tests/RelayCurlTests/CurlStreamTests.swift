// Streamed downloads: back-pressure keeps memory bounded, bytes arrive intact, the consumer's
// cancellation aborts the transfer.

import Foundation
@testable import RelayCurl
import RelayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct CurlStreamTests {
    @Test func largeBodyStreamsWithBoundedBuffer() async throws {
        let size = 50 * 1024 * 1024
        let file = try BodyFile(size: size, crc: true)
        defer { file.remove() }
        let server = try await UpstreamServer.start(scripts: ["/big": .file(file.path, headers: [("X-Body-CRC32", "\(file.crc)")])])
        defer { server.stop() }
        let configuration = CurlClientConfiguration(streamBufferBytes: 256 * 1024, streamChunkBytes: 64 * 1024)
        let client = makeClient(configuration)
        defer { client.shutdown() }
        let (head, body) = try await client.stream(HTTPRequestSpec(url: server.url("/big")))
        #expect(head.status == 200)
        #expect(head.header("content-length") == "\(size)")
        var crc = CRC32()
        var received = 0
        var chunks = 0
        for try await chunk in body {
            #expect(chunk.count <= 64 * 1024)
            crc.update(chunk)
            received += chunk.count
            chunks += 1
            if chunks <= 40 {
                try await Task.sleep(for: .milliseconds(5))  // a slow consumer at first
            }
        }
        #expect(received == size)
        #expect("\(crc.value)" == head.header("x-body-crc32"))
        // The stream's own high-water mark is the bound; process RSS is not (other tests run in parallel).
        #expect(body.highWaterBytes <= 512 * 1024, "buffered up to \(body.highWaterBytes) bytes")
    }

    @Test func smallEmptyAndErrorBodies() async throws {
        let server = try await UpstreamServer.start(scripts: [
            "/tiny": .text(200, "tiny"), "/empty": .text(204), "/missing": .text(404, headers: [("Retry-After", "5")]),
            "/moved": .redirect(to: "/there"), "/there": .text(200, "there"), "/close": .close,
        ])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let (okHead, okBody) = try await client.stream(HTTPRequestSpec(url: server.url("/tiny")))
        #expect(okHead.status == 200)
        var bytes: [UInt8] = []
        for try await chunk in okBody { bytes += chunk }
        #expect(bytes == Array("tiny".utf8))

        let (emptyHead, emptyBody) = try await client.stream(HTTPRequestSpec(method: "POST", url: server.url("/empty")))
        #expect(emptyHead.status == 204)
        var iterator = emptyBody.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)

        let (missingHead, _) = try await client.stream(HTTPRequestSpec(url: server.url("/missing")))
        #expect(missingHead.status == 404)
        #expect(missingHead.header("RETRY-AFTER") == "5")

        let (redirectedHead, redirectedBody) = try await client.stream(HTTPRequestSpec(url: server.url("/moved"), followRedirects: true))
        #expect(redirectedHead.status == 200)
        bytes = []
        for try await chunk in redirectedBody { bytes += chunk }
        #expect(bytes == Array("there".utf8))

        let refused = await failure { () async throws(CurlError) in
            try await client.stream(HTTPRequestSpec(url: server.url("/close")))
        }
        #expect(refused?.kind == .network)
    }

    @Test func cancellingTheConsumerAbortsTheTransfer() async throws {
        try await withBigBody { server, client in
            let (head, body) = try await client.stream(HTTPRequestSpec(url: server.url("/big"), totalTimeout: .seconds(30)))
            #expect(head.status == 200)
            let consumer = Task { () async -> (Int, CurlError?) in
                var received = 0
                do {
                    for try await chunk in body {
                        received += chunk.count
                        if received > 1024 * 1024 { try? await Task.sleep(for: .seconds(30)) }
                    }
                    return (received, nil)
                } catch {
                    return (received, error as? CurlError)
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            consumer.cancel()
            let (received, error) = await consumer.value
            #expect(received < 20 * 1024 * 1024)
            #expect(error?.kind == .cancelled)
            #expect(body.reader.transfer.stream?.isFinished == true)
            // The client goes on working; the aborted connection is not reused.
            let next = try await client.execute(HTTPRequestSpec(url: server.url("/ok")))
            #expect(next.head.status == 200)
        }
    }

    @Test func droppingTheStreamAbortsTheTransfer() async throws {
        try await withBigBody { server, client in
            var head: HTTPResponseHead?
            var stream: StreamBuffer?
            do {
                let (streamHead, body) = try await client.stream(HTTPRequestSpec(url: server.url("/big")))
                head = streamHead
                stream = body.reader.transfer.stream
            }
            #expect(head?.status == 200)
            #expect(stream?.isFinished == true)
            let next = try await client.execute(HTTPRequestSpec(url: server.url("/ok")))
            #expect(next.head.status == 200)
        }
    }
}

/// Runs `body` with a client and a server whose `/big` streams a 20 MiB file and `/ok` answers 200.
private func withBigBody(_ body: (UpstreamServer, CurlClient) async throws -> Void) async throws {
    let file = try BodyFile(size: 20 * 1024 * 1024)
    defer { file.remove() }
    let server = try await UpstreamServer.start(scripts: ["/big": .file(file.path), "/ok": .text(200)])
    defer { server.stop() }
    let client = makeClient()
    defer { client.shutdown() }
    try await body(server, client)
}

/// A file of pseudo-random bytes in the temporary directory for the server to stream: a block of a
/// prime length (so no two 64 KiB pieces are alike) repeated, with its CRC-32 when asked for.
struct BodyFile {
    let path: String
    let crc: UInt32

    init(size: Int, crc withCRC: Bool = false) throws {
        var generator = SystemRandomNumberGenerator()
        let block = (0..<65_521).map { _ in UInt8.random(in: 0...255, using: &generator) }
        path = FileManager.default.temporaryDirectory.appendingPathComponent("body-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown)
        }
        defer { try? handle.close() }
        var checksum = CRC32()
        var written = 0
        while written < size {
            let piece = Array(block.prefix(size - written))
            try handle.write(contentsOf: piece)
            if withCRC { checksum.update(piece) }
            written += piece.count
        }
        crc = checksum.value
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// CRC-32 (IEEE, as python's zlib.crc32).
struct CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }
    private var state: UInt32 = 0xFFFF_FFFF

    var value: UInt32 { state ^ 0xFFFF_FFFF }

    mutating func update(_ bytes: [UInt8]) {
        var crc = state
        Self.table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { buffer in
                for byte in buffer {
                    crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
                }
            }
        }
        state = crc
    }
}
