// ExportFetcher against a real loopback upstream: poll statuses, Retry-After, redirects, the
// SSRF refusals (host, scheme, private peers, size, redirect limit), transport failures.

import Foundation
import RelayCore
import RelayCurl
@testable import RelayExport
import RelayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ExportFetcherTests {
    private func fetcher(
        _ settings: ExportSourceSettings, client: CurlClient, timeouts: ExportFetcher.Timeouts = .init(),
        wallClock: @escaping @Sendable () -> Date = { Date() }
    ) -> ExportFetcher {
        let credentials = ExportCredentialProvider(
            source: "sitecore", credentials: settings.credentials, policy: ExportURLPolicy(source: "sitecore", settings: settings),
            client: client, secrets: secretTable([:]), logger: fetchLogger
        )
        return ExportFetcher(source: "sitecore", settings: settings, client: client, credentials: credentials,
                             timeouts: timeouts, logger: fetchLogger, wallClock: wallClock)
    }

    @Test func notReadyThenTheFile() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/export", .text(404, "not yet"), .text(200, "a,b\n1,2\n", headers: [(name: "Content-Type", value: "text/csv")]))
        let fetcher = fetcher(loopbackSettings(), client: client)

        let first = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/export?sig=s3cr3t"), context: "apiUrl") }
        #expect(first?.isNotReady == true)
        #expect(first?.reason == "apiUrl \(server.url("/export"))?… answered 404: not yet")

        let response = try await fetcher.open(url: server.url("/export?sig=s3cr3t"), context: "apiUrl")
        #expect(response.head.status == 200)
        #expect(response.head.header("content-type") == "text/csv")
        #expect(response.contentLength == 8)
        #expect(response.url.text == server.url("/export?sig=s3cr3t"))
        #expect(try await readAll(response.body) == Array("a,b\n1,2\n".utf8))

        let seen = try await server.requests(path: "/export")
        #expect(seen.count == 2)
        #expect(seen.allSatisfy { $0.header("Accept-Encoding") == "gzip" && $0.header("Authorization") == nil })
        #expect(seen.first?.query == "sig=s3cr3t")
    }

    @Test func goneAndFailedUpstreamAreTerminal() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/gone", .text(410, "export expired"))
        try await server.script("/failed", .text(503, "{\"error\":\"export failed\"}"))
        let fetcher = fetcher(loopbackSettings(), client: client)

        let gone = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/gone?sig=x"), context: "apiUrl") }
        #expect(gone?.isGone == true)
        #expect(gone?.isTerminal == true)
        #expect(gone?.reason.contains("answered 410: export expired") == true)
        #expect(gone?.reason.contains("sig=x") == false)

        let failed = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/failed"), context: "apiUrl") }
        #expect(failed?.isFailedUpstream == true)
        #expect(failed?.reason.contains("export failed") == true)
    }

    @Test func tooManyRequestsHonoursRetryAfterSecondsAndDates() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/seconds", .text(429, "slow down", headers: [(name: "Retry-After", value: "120")]))
        try await server.script("/date", .text(429, "", headers: [(name: "Retry-After", value: "Wed, 21 Oct 2015 07:28:30 GMT")]))
        try await server.script("/error", .text(500, "boom"))
        try await server.script("/bad-gateway", .text(502, "", headers: [(name: "Retry-After", value: "7")]))
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        let fetcher = fetcher(loopbackSettings(), client: client, wallClock: { now })

        let seconds = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/seconds"), context: "apiUrl") }
        #expect(seconds?.retryAfter == .some(.seconds(120)))
        #expect(seconds?.reason.contains("answered 429: slow down") == true)
        let date = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/date"), context: "apiUrl") }
        #expect(date?.retryAfter == .some(.seconds(30)))
        let error = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/error"), context: "apiUrl") }
        #expect(error?.retryAfter == .some(nil))
        #expect(error?.isTerminal == false)
        let badGateway = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/bad-gateway"), context: "apiUrl") }
        #expect(badGateway?.retryAfter == .some(.seconds(7)))
    }

    @Test func otherClientErrorsAreRejectedWithTheBodyExcerpt() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        let long = "{\"message\":\"signature does not match\"}\n" + String(repeating: "x", count: 1000)
        try await server.script("/forbidden", .text(403, long))
        let fetcher = fetcher(loopbackSettings(), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/forbidden"), context: "manifest file 2") }
        #expect(failure?.rejectedStatus == 403)
        let reason = failure?.reason ?? ""
        #expect(reason.hasPrefix("manifest file 2 \(server.url("/forbidden")) answered 403: {\"message\":\"signature does not match\"} xxx"))
        #expect(reason.hasSuffix("…"))
        #expect(reason.count < 500)
    }

    @Test func relativeRedirectToAnotherAllowedPathIsFollowed() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/a", .redirect(302, to: "/files/b.json?sig=2"))
        try await server.script("/files/b.json", .json(200, "[1,2]"))
        let fetcher = fetcher(loopbackSettings(), client: client)
        let response = try await fetcher.open(url: server.url("/a?sig=1"), context: "apiUrl")
        #expect(response.url.path == "/files/b.json")
        #expect(response.url.query == "sig=2")
        #expect(try await readAll(response.body) == Array("[1,2]".utf8))
        #expect(try await server.requests().map(\.target) == ["/a?sig=1", "/files/b.json?sig=2"])
    }

    @Test func redirectToAHostNotAllowListedIsRefused() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/a", .redirect(307, to: "http://evil.example:\(server.port)/steal?sig=1"))
        let fetcher = fetcher(loopbackSettings(), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/a"), context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason == "apiUrl redirect 1 host 'evil.example' is not in source sitecore's export.allowHosts (127.0.0.1): http://evil.example:\(server.port)/steal?…")
    }

    @Test func aHostResolvingToLoopbackIsRefusedAtThePeerCheck() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("*", .text(200, "internal data"))
        // localhost is allow-listed (and may use plain http) but not allowed private addresses.
        let fetcher = fetcher(loopbackSettings(allowHosts: ["localhost"], allowPrivateAddresses: []), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in
            try await fetcher.open(url: "http://localhost:\(server.port)/secret", context: "apiUrl")
        }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason.contains("'localhost' resolved to 127.0.0.1, a loopback address, and source sitecore's export.allowPrivateAddresses does not list it") == true)
        #expect(try await server.requests().isEmpty)
    }

    @Test func redirectFromAPrivateAllowedHostToALoopbackNameIsRefusedOnThatHop() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/a", .redirect(302, to: "http://localhost:\(server.port)/b"))
        try await server.script("/b", .text(200, "internal data"))
        let settings = loopbackSettings(allowHosts: ["127.0.0.1", "localhost"], allowPrivateAddresses: ["127.0.0.1"])
        let fetcher = fetcher(settings, client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/a"), context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason.hasPrefix("apiUrl redirect 1 http://localhost:\(server.port)/b: connection to 127.0.0.1:\(server.port) refused: 'localhost' resolved to 127.0.0.1") == true)
        #expect(try await server.requests().map(\.path) == ["/a"])
    }

    @Test func plainHTTPIsRefusedUnlessAllowed() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("*", .text(200, "data"))
        let strict = fetcher(loopbackSettings(allowPlainHTTP: []), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await strict.open(url: server.url("/x"), context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason == "apiUrl \(server.url("/x")): plain http is refused; https is required unless the host is in source sitecore's export.allowPlainHTTP")
        #expect(try await server.requests().isEmpty)

        let lenient = fetcher(loopbackSettings(), client: client)
        let response = try await lenient.open(url: server.url("/x"), context: "apiUrl")
        #expect(try await readAll(response.body) == Array("data".utf8))
    }

    @Test func contentLengthOverTheCapIsRefusedUpFront() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/big", .text(200, String(repeating: "x", count: 1000)))
        let fetcher = fetcher(loopbackSettings(maxFileBytes: 100), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/big"), context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason == "apiUrl \(server.url("/big")): Content-Length 1000 is over source sitecore's export.maxFileBytes (100)")
    }

    @Test func chunkedBodyOverTheCapFailsWhileStreaming() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/big", UpstreamResponse(body: .bytes(Array(repeating: 0x41, count: 1000)), chunked: true, chunkBytes: 64))
        let fetcher = fetcher(loopbackSettings(maxFileBytes: 100), client: client)
        let response = try await fetcher.open(url: server.url("/big"), context: "apiUrl")
        #expect(response.contentLength == nil)
        var received = 0
        var failure: ExportFetchFailure?
        do {
            for try await chunk in response.body { received += chunk.count }
        } catch {
            failure = error
        }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason.contains("larger than the source's export.maxFileBytes (100 bytes)") == true)
        #expect(received <= 100)
    }

    @Test func redirectLoopHitsTheLimit() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/loop", .redirect(302, to: "/loop"))
        let fetcher = fetcher(loopbackSettings(maxRedirects: 3), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/loop"), context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason == "apiUrl \(server.url("/loop")): more than 3 redirects (source sitecore's export.maxRedirects); the last one to \(server.url("/loop"))")
        let seen = try await server.requests(path: "/loop")
        #expect(seen.count == 4)
        // The short redirect bodies were read to their end, so one connection carried every hop.
        #expect(Set(seen.map(\.clientPort)).count == 1)
    }

    @Test func redirectWithoutLocationIsRejected() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/moved", .text(301, "gone elsewhere"))
        let fetcher = fetcher(loopbackSettings(), client: client)
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/moved"), context: "apiUrl") }
        #expect(failure?.rejectedStatus == 301)
    }

    @Test func gzipIsAskedForAndHandedOverUndecoded() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        let gzip: [UInt8] = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x48,
            0xad, 0x28, 0xc8, 0x2f, 0x2a, 0xe1, 0x02, 0x00, 0x2d, 0x9a, 0x57, 0x58, 0x0d, 0x00, 0x00, 0x00,
        ]
        try await server.script("/file.jsonl", UpstreamResponse(headers: [(name: "Content-Encoding", value: "gzip")], body: .bytes(gzip)))
        let fetcher = fetcher(loopbackSettings(), client: client)
        let response = try await fetcher.open(url: server.url("/file.jsonl"), context: "apiUrl")
        #expect(response.head.header("Content-Encoding") == "gzip")
        #expect(try await readAll(response.body) == gzip)
    }

    @Test func transportFailuresAreRetried() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/hang", .hang)
        try await server.script("/reset", .reset)
        try await server.script("/close", .close)
        try await server.script("/short", UpstreamResponse(body: .bytes(Array(repeating: 0x42, count: 100_000)), dropAfterBytes: 5000))
        let fetcher = fetcher(loopbackSettings(), client: client, timeouts: .init(connect: .seconds(2), head: .seconds(1)))

        let hang = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/hang"), context: "apiUrl") }
        #expect(hang?.isRetry == true)
        #expect(hang?.reason.contains("no response within") == true)
        for path in ["/reset", "/close"] {
            let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url(path), context: "apiUrl") }
            #expect(failure?.isRetry == true, "\(path): \(failure?.description ?? "succeeded")")
        }

        let response = try await fetcher.open(url: server.url("/short"), context: "apiUrl")
        var broke: ExportFetchFailure?
        do {
            _ = try await readAll(response.body)
        } catch {
            broke = error
        }
        #expect(broke?.isRetry == true)
        #expect(broke?.reason.contains("the body broke off") == true)

        // Nothing listens on a port that was just closed.
        let closed = try await UpstreamServer.start()
        let port = closed.port
        closed.stop()
        let refused = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: "http://127.0.0.1:\(port)/x", context: "apiUrl") }
        #expect(refused?.isRetry == true)
        #expect(refused?.reason.contains("connect") == true)
    }

    @Test func cancellingTheCallerIsNotAJobFailure() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/hang", .hang)
        let fetcher = fetcher(loopbackSettings(), client: client)
        let task = Task { () async -> ExportFetchFailure? in
            await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/hang"), context: "apiUrl") }
        }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let failure = await task.value
        if case .cancelled = failure {} else { Issue.record("expected cancelled, got \(String(describing: failure))") }
    }
}
