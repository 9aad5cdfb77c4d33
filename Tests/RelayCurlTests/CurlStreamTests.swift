// Streamed downloads: back-pressure keeps memory bounded, bytes arrive intact, the consumer's
// cancellation aborts the transfer.

import Foundation
import Testing
@testable import RelayCurl

@Suite(.timeLimit(.minutes(1)))
struct CurlStreamTests {
    @Test func largeBodyStreamsWithBoundedBuffer() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let configuration = CurlClientConfiguration(streamBufferBytes: 256 * 1024, streamChunkBytes: 64 * 1024)
        let client = makeClient(configuration)
        defer { client.shutdown() }
        let size = 50 * 1024 * 1024
        let (head, body) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/big?size=\(size)&seed=7"))
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
        let server = try await TestServer.start()
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let (okHead, okBody) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/status/200?body=tiny"))
        #expect(okHead.status == 200)
        var bytes: [UInt8] = []
        for try await chunk in okBody { bytes += chunk }
        #expect(bytes == Array("tiny".utf8))

        let (emptyHead, emptyBody) = try await client.stream(HTTPRequestSpec(method: "POST", url: server.baseURL + "/status/204"))
        #expect(emptyHead.status == 204)
        var iterator = emptyBody.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)

        let (missingHead, _) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/status/404?h=Retry-After:5"))
        #expect(missingHead.status == 404)
        #expect(missingHead.header("RETRY-AFTER") == "5")

        let (redirectedHead, redirectedBody) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/redirect?to=/status/200%3Fbody%3Dthere", followRedirects: true))
        #expect(redirectedHead.status == 200)
        bytes = []
        for try await chunk in redirectedBody { bytes += chunk }
        #expect(bytes == Array("there".utf8))

        let refused = await failure { () async throws(CurlError) in
            try await client.stream(HTTPRequestSpec(url: server.baseURL + "/close"))
        }
        #expect(refused?.kind == .network)
    }

    @Test func cancellingTheConsumerAbortsTheTransfer() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let (head, body) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/big?size=\(20 * 1024 * 1024)", totalTimeout: .seconds(30)))
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
        let next = try await client.execute(HTTPRequestSpec(url: server.baseURL + "/status/200"))
        #expect(next.head.status == 200)
    }

    @Test func droppingTheStreamAbortsTheTransfer() async throws {
        let server = try await TestServer.start()
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        var head: HTTPResponseHead?
        var stream: StreamBuffer?
        do {
            let (streamHead, body) = try await client.stream(HTTPRequestSpec(url: server.baseURL + "/big?size=\(20 * 1024 * 1024)"))
            head = streamHead
            stream = body.reader.transfer.stream
        }
        #expect(head?.status == 200)
        #expect(stream?.isFinished == true)
        let next = try await client.execute(HTTPRequestSpec(url: server.baseURL + "/status/200"))
        #expect(next.head.status == 200)
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
