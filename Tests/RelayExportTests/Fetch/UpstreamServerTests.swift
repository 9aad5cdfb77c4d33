// The scripted upstream itself: scripts that advance, files streamed from disk (plain and
// chunked), through the export fetcher.

import Foundation
import RelayCore
import RelayCurl
@testable import RelayExport
import RelayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct UpstreamServerTests {
    @Test func scriptsAdvanceAndTheLastEntryRepeats() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/s", UpstreamResponse.text(500, "a").times(2), .text(404, "b"), .text(200, "c"))
        var statuses: [Int] = []
        for _ in 0..<5 {
            statuses.append(try await client.execute(HTTPRequestSpec(url: server.url("/s"))).head.status)
        }
        #expect(statuses == [500, 500, 404, 200, 200])
        #expect(try await client.execute(HTTPRequestSpec(url: server.url("/unscripted"))).head.status == 404)
        try await server.reset()
        #expect(try await server.requests().isEmpty)
    }

    @Test(arguments: [false, true])
    func filesStreamFromDisk(chunked: Bool) async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("upstream-file-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let content = try #require(FileHandle(forReadingAtPath: "/dev/urandom")?.readData(ofLength: (3 << 20) + 123)).map { $0 }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(content)))
        try await server.script("/file.bin", .file(path, headers: [(name: "Content-Type", value: "application/octet-stream")], chunked: chunked))

        let fetcher = ExportFetcher(source: "s", settings: loopbackSettings(), client: client, secrets: secretTable([:]), logger: fetchLogger)
        let response = try await fetcher.open(url: server.url("/file.bin"), context: "apiUrl")
        #expect(response.contentLength == (chunked ? nil : content.count))
        #expect(response.head.header("Transfer-Encoding") == (chunked ? "chunked" : nil))
        #expect(try await readAll(response.body) == content)
    }
}
