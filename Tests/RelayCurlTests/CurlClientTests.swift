// Buffered requests against a real loopback server: statuses, headers, bodies, failures,
// timeouts, TLS, keep-alive, concurrency, cancellation and shutdown.

import Foundation
import Logging
@testable import RelayCurl
import RelayTestSupport
import Testing

/// Runs `operation` and returns the error it threw, or nil.
func failure<T>(_ operation: () async throws(CurlError) -> T) async -> CurlError? {
    do {
        _ = try await operation()
        return nil
    } catch {
        return error
    }
}

func makeClient(_ configuration: CurlClientConfiguration = CurlClientConfiguration()) -> CurlClient {
    CurlClient(configuration: configuration, logger: Logger(label: "relay-curl-test"))
}

@Suite(.timeLimit(.minutes(1)))
struct CurlClientTests {
    @Test func okWithBody() async throws {
        let server = try await UpstreamServer.start(scripts: ["/ok": .text(200, "hello")])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let url = server.url("/ok?q=1")
        let result = try await client.execute(HTTPRequestSpec(url: url))
        #expect(result.head.status == 200)
        #expect(result.body == Array("hello".utf8))
        #expect(!result.bodyTruncated)
        #expect(result.effectiveURL == url)
        #expect(result.totalTime > .zero)
        #expect(result.head.header("content-length") == "5")
    }

    @Test func noContent() async throws {
        let server = try await UpstreamServer.start(scripts: ["/empty": .text(204)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let result = try await client.execute(HTTPRequestSpec(method: "POST", url: server.url("/empty"), body: Array("{}".utf8)))
        #expect(result.head.status == 204)
        #expect(result.body.isEmpty)
    }

    @Test func errorStatusesAreResultsNotErrors() async throws {
        let statuses = [400, 404, 429, 500, 503]
        let server = try await UpstreamServer.start(scripts: Dictionary(uniqueKeysWithValues: statuses.map { ("/status/\($0)", UpstreamResponse.text($0, "nope")) }))
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        for status in statuses {
            let result = try await client.execute(HTTPRequestSpec(url: server.url("/status/\(status)")))
            #expect(result.head.status == status)
            #expect(result.body == Array("nope".utf8))
        }
    }

    @Test func responseHeadersAreFoundCaseInsensitively() async throws {
        let busy = UpstreamResponse.text(503, headers: [("Retry-After", "120"), ("X-Multi", "a"), ("x-multi", "b")])
        let server = try await UpstreamServer.start(scripts: ["/busy": busy])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let result = try await client.execute(HTTPRequestSpec(url: server.url("/busy")))
        #expect(result.head.status == 503)
        #expect(result.head.header("retry-after") == "120")
        #expect(result.head.header("RETRY-AFTER") == "120")
        #expect(result.head.header("Retry-After") == "120")
        #expect(result.head.headers(named: "X-MULTI") == ["a", "b"])
        #expect(result.head.header("Retry") == nil)
        #expect(result.head.headers.contains { $0.name == "Retry-After" && $0.value == "120" })
    }

    @Test func onlyTheResponseHeadersAskedForAreParsed() async throws {
        let busy = UpstreamResponse.text(429, "slow down", headers: [("RETRY-AFTER", "7"), ("X-Other", "a"), ("Location", "/elsewhere")])
        let server = try await UpstreamServer.start(scripts: ["/busy": busy])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let result = try await client.execute(HTTPRequestSpec(url: server.url("/busy"), responseHeaders: ["retry-after", "Location"]))
        #expect(result.head.status == 429)
        #expect(result.body == Array("slow down".utf8))
        #expect(result.head.header("Retry-After") == "7")
        #expect(result.head.header("location") == "/elsewhere")
        #expect(result.head.header("X-Other") == nil)
        #expect(result.head.header("Content-Length") == nil)
        #expect(result.head.headers.count == 2)
        let none = try await client.execute(HTTPRequestSpec(url: server.url("/busy"), responseHeaders: []))
        #expect(none.head.status == 429)
        #expect(none.head.headers.isEmpty)
    }

    @Test func headerParsingKeepsFoldedValuesOnlyForKeptHeaders() {
        let raw = Array("Retry-After: 1\r\n 2\r\nX-Skip: a\r\n\tb\r\nLOCATION:  /x \r\n".utf8)
        #expect(parseHeaderLines(raw, keeping: ["retry-after", "location"]).map { "\($0.name)=\($0.value)" } == ["Retry-After=1 2", "LOCATION=/x"])
        #expect(parseHeaderLines(raw).map { "\($0.name)=\($0.value)" } == ["Retry-After=1 2", "X-Skip=a b", "LOCATION=/x"])
    }

    @Test func manyRequestHeadersTravelInOneListWithLibcurlsOwnRemoved() async throws {
        let server = try await UpstreamServer.start(scripts: ["/h": .text(204)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let headers = (0..<40).map { (name: "x-h\($0)", value: String(repeating: "v", count: $0)) }
        for round in 0..<3 {
            let result = try await client.execute(HTTPRequestSpec(method: "POST", url: server.url("/h"), headers: headers, body: Array("r\(round)".utf8)))
            #expect(result.head.status == 204)
        }
        let requests = try await server.requests(path: "/h")
        #expect(requests.count == 3)
        for request in requests {
            // An empty value is sent as an empty header (`name;`), not dropped.
            #expect((0..<40).allSatisfy { request.header("x-h\($0)") == String(repeating: "v", count: $0) })
            #expect(request.header("content-type") == nil)
            #expect(request.header("expect") == nil)
        }
    }

    @Test func requestHeadersAndBodyArriveIntact() async throws {
        let server = try await UpstreamServer.start(scripts: ["/echo": .text(200), "/head": .text(200, "abc")])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let body = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // past 1 KiB, all byte values
        for method in ["POST", "PUT", "PATCH"] {
            let request = HTTPRequestSpec(
                method: method, url: server.url("/echo?q=1"),
                headers: [("Content-Type", "application/json"), ("X-Trace", "a b  c"), ("Authorization", "Bearer t0k3n"), ("X-Empty", "")],
                body: body
            )
            let result = try await client.execute(request)
            #expect(result.head.status == 200)
            let received = try #require(try await server.requests().last)
            #expect(received.method == method)
            #expect(received.target == "/echo?q=1")
            #expect(received.header("Content-Type") == "application/json")
            #expect(received.header("X-Trace") == "a b  c")
            #expect(received.header("Authorization") == "Bearer t0k3n")
            #expect(received.header("X-Empty") == "")
            #expect(received.header("Content-Length") == "4096")
            #expect(received.header("Expect") == nil)
            #expect(received.body == body)
        }
        // No body and no Content-Type: libcurl's form content type must not appear.
        _ = try await client.execute(HTTPRequestSpec(method: "POST", url: server.url("/echo")))
        let post = try #require(try await server.requests().last)
        #expect(post.method == "POST")
        #expect(post.header("Content-Type") == nil)
        #expect(post.header("Content-Length") == "0")
        _ = try await client.execute(HTTPRequestSpec(method: "DELETE", url: server.url("/echo")))
        #expect(try await server.requests().last?.method == "DELETE")
        let head = try await client.execute(HTTPRequestSpec(method: "HEAD", url: server.url("/head")))
        #expect(head.head.status == 200)
        #expect(head.body.isEmpty)
    }

    @Test func invalidRequestsAreRejectedBeforeSending() async throws {
        let client = makeClient()
        defer { client.shutdown() }
        let injected = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:9/", headers: [("X-Bad", "a\r\nInjected: yes")]))
        }
        #expect(injected?.kind == .other)
        let method = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(method: "GE T", url: "http://127.0.0.1:9/"))
        }
        #expect(method?.kind == .other)
        let scheme = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: "file:///etc/passwd"))
        }
        #expect(scheme?.kind == .other)
    }

    @Test func bodyIsBoundedByMaxBodyBytes() async throws {
        let big = UpstreamResponse(body: .bytes(Array(repeating: UInt8(ascii: "b"), count: 300_000)))
        let server = try await UpstreamServer.start(scripts: ["/big": big, "/ok": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let result = try await client.execute(HTTPRequestSpec(url: server.url("/big")), maxBodyBytes: 1000)
        #expect(result.head.status == 200)
        #expect(result.body.count == 1000)
        #expect(result.bodyTruncated)
        // The connection stays usable: the rest of the body was read, not abandoned.
        #expect(try await client.execute(HTTPRequestSpec(url: server.url("/ok"))).head.status == 200)
        #expect(try await server.stats().connections == 1)
    }

    @Test func refusedConnectionIsConnectError() async throws {
        let server = try await UpstreamServer.start()
        let port = server.port
        server.stop()
        let client = makeClient()
        defer { client.shutdown() }
        let error = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: "http://127.0.0.1:\(port)/", connectTimeout: .seconds(2)))
        }
        #expect(error?.kind == .connect)
        #expect(error?.code == 7)
        #expect(error?.message.isEmpty == false)
    }

    @Test func silentServerHitsTotalTimeout() async throws {
        let server = try await UpstreamServer.start(scripts: ["/hang": .hang])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let clock = ContinuousClock()
        let start = clock.now
        let error = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/hang"), totalTimeout: .milliseconds(800)))
        }
        let elapsed = clock.now - start
        #expect(error?.kind == .timeout)
        #expect(error?.code == 28)
        #expect(elapsed >= .milliseconds(750))
        #expect(elapsed < .seconds(15), "the 0.8 s timeout did not fire")  // loose: the shared machine may be loaded
    }

    @Test func closedConnectionIsNetworkError() async throws {
        let server = try await UpstreamServer.start(scripts: ["/close": .close])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let error = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/close")))
        }
        #expect(error?.kind == .network)
    }

    @Test func tlsVerifiesAgainstCustomCA() async throws {
        let server = try await UpstreamServer.start(https: true, scripts: ["/secure": .text(200, "secure"), "/h1": .text(200, "h1")])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let trusted = try await client.execute(HTTPRequestSpec(url: server.url("/secure"), caFile: server.caFile))
        #expect(trusted.head.status == 200)
        #expect(trusted.body == Array("secure".utf8))
        let untrusted = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/secure")))
        }
        #expect(untrusted?.kind == .tls)
        let badFile = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/secure"), caFile: "/nonexistent/ca.pem"))
        }
        #expect(badFile?.kind == .tls)
        // HTTP/2 is only asked for; a server that offers no h2 through ALPN gets HTTP/1.1.
        let http2Client = makeClient(CurlClientConfiguration(httpVersion: .http2IfOffered))
        defer { http2Client.shutdown() }
        let fallback = try await http2Client.execute(HTTPRequestSpec(url: server.url("/h1"), caFile: server.caFile))
        #expect(fallback.body == Array("h1".utf8))
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let server = try await UpstreamServer.start(scripts: ["/echo": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        for index in 0..<50 {
            let result = try await client.execute(HTTPRequestSpec(
                method: "POST", url: server.url("/echo"),
                headers: [("Content-Type", "application/json")], body: Array("{\"n\":\(index)}".utf8)
            ))
            #expect(result.head.status == 200)
        }
        let connections = try await server.stats().connections
        #expect((1...2).contains(connections), "accepted \(connections) connections for 50 requests")
    }

    @Test func manyConcurrentRequestsAllComplete() async throws {
        let server = try await UpstreamServer.start(scripts: ["/status/200": .text(200), "/status/201": .text(201), "/status/202": .text(202)])
        defer { server.stop() }
        let client = makeClient(CurlClientConfiguration(maxTotalConnections: 32, maxConnectionsPerHost: 32))
        defer { client.shutdown() }
        let statuses = await withTaskGroup(of: Int.self, returning: [Int].self) { group in
            for index in 0..<200 {
                group.addTask {
                    let request = HTTPRequestSpec(method: "POST", url: server.url("/status/\(200 + index % 3)"), body: Array("{}".utf8))
                    return (try? await client.execute(request).head.status) ?? -1
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.count == 200)
        #expect(statuses.sorted() == (0..<200).map { 200 + $0 % 3 }.sorted())
        #expect(try await server.stats().connections <= 32)
    }

    /// Two workers share the connection limit and each keeps its connections alive.
    @Test func workersShareTheConnectionLimitAndReuseConnections() async throws {
        let server = try await UpstreamServer.start(scripts: ["/echo": .text(200)])
        defer { server.stop() }
        let client = makeClient(CurlClientConfiguration(maxTotalConnections: 8, maxConnectionsPerHost: 8, workerThreads: 2))
        defer { client.shutdown() }
        for _ in 0..<3 {
            let statuses = await withTaskGroup(of: Int.self, returning: [Int].self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        (try? await client.execute(HTTPRequestSpec(method: "POST", url: server.url("/echo"), body: Array("{}".utf8))).head.status) ?? -1
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 100))
        }
        let connections = try await server.stats().connections
        #expect((2...8).contains(connections), "accepted \(connections) connections for 300 requests over two workers of 4")
    }

    @Test func redirectsAreFollowedOnlyWhenAsked() async throws {
        let server = try await UpstreamServer.start(scripts: [
            "/redirect": .redirect(to: "/created"), "/created": .text(201),
            "/hop1": .redirect(to: "/hop2"), "/hop2": .redirect(to: "/created"),
        ])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let url = server.url("/redirect")
        let plain = try await client.execute(HTTPRequestSpec(url: url))
        #expect(plain.head.status == 302)
        #expect(plain.head.header("location") == "/created")
        let followed = try await client.execute(HTTPRequestSpec(url: url, followRedirects: true))
        #expect(followed.head.status == 201)
        #expect(followed.head.header("location") == nil)
        #expect(followed.effectiveURL == server.url("/created"))
        let looping = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/hop1"), followRedirects: true, maxRedirects: 1))
        }
        #expect(looping?.code == 47)  // CURLE_TOO_MANY_REDIRECTS
    }

    @Test func cancellingTheTaskAbortsTheRequest() async throws {
        let server = try await UpstreamServer.start(scripts: ["/hang": .hang, "/ok": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let clock = ContinuousClock()
        let start = clock.now
        let task = Task { () async -> CurlError? in
            await failure { () async throws(CurlError) in
                try await client.execute(HTTPRequestSpec(url: server.url("/hang"), totalTimeout: .seconds(20)))
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let error = await task.value
        #expect(error?.kind == .cancelled)
        #expect(clock.now - start < .seconds(15))  // well under the request's own 20 s timeout
        // Already cancelled before it starts: fails at once.
        let early = Task { () async -> CurlError? in
            withUnsafeCurrentTask { $0?.cancel() }
            return await failure { () async throws(CurlError) in try await client.execute(HTTPRequestSpec(url: server.url("/hang"))) }
        }
        #expect(await early.value?.kind == .cancelled)
        let after = try await client.execute(HTTPRequestSpec(url: server.url("/ok")))
        #expect(after.head.status == 200)
    }

    @Test func shutdownFailsPendingAndLaterRequests() async throws {
        let server = try await UpstreamServer.start(scripts: ["/hang": .hang, "/ok": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        let pending = Task { () async -> CurlError? in
            await failure { () async throws(CurlError) in
                try await client.execute(HTTPRequestSpec(url: server.url("/hang"), totalTimeout: .seconds(20)))
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        client.shutdown()
        client.shutdown()
        #expect(await pending.value?.kind == .shutdown)
        let later = await failure { () async throws(CurlError) in
            try await client.execute(HTTPRequestSpec(url: server.url("/ok")))
        }
        #expect(later?.kind == .shutdown)
        let stream = await failure { () async throws(CurlError) in
            try await client.stream(HTTPRequestSpec(url: server.url("/ok")))
        }
        #expect(stream?.kind == .shutdown)
    }

    @Test func clientDeinitStopsTheWorker() async throws {
        let server = try await UpstreamServer.start(scripts: ["/ok": .text(200)])
        defer { server.stop() }
        var client: CurlClient? = makeClient()
        let result = try await client?.execute(HTTPRequestSpec(url: server.url("/ok")))
        #expect(result?.head.status == 200)
        client = nil
        #expect(client == nil)
    }
}
