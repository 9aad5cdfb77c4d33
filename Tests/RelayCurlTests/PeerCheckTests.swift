// The per-request peer check (CURLOPT_PREREQFUNCTION) against a real loopback server, and
// URLs parsed and resolved by libcurl's own parser.

import Foundation
@testable import RelayCurl
import RelayTestSupport
import Synchronization
import Testing

/// The peers a check was asked about, in order.
private final class PeerLog: Sendable {
    private let peers = Mutex<[String]>([])

    func record(_ address: String, _ port: Int) {
        peers.withLock { $0.append("\(address):\(port)") }
    }

    var all: [String] { peers.withLock { $0 } }
}

@Suite(.timeLimit(.minutes(1)))
struct PeerCheckTests {
    @Test func allowedPeerSeesTheConnectedAddressAndPort() async throws {
        let server = try await UpstreamServer.start(scripts: ["/hi": .text(200, "hi")])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let log = PeerLog()
        let request = HTTPRequestSpec(url: server.url("/hi"), peerCheck: { address, port in
            log.record(address, port)
            return nil
        })
        let result = try await client.execute(request)
        #expect(result.head.status == 200)
        #expect(result.body == Array("hi".utf8))
        #expect(log.all == ["127.0.0.1:\(server.port)"])
    }

    @Test func refusedPeerFailsBeforeTheRequestIsSent() async throws {
        let server = try await UpstreamServer.start(scripts: ["/echo": .text(200), "/empty": .text(204)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let request = HTTPRequestSpec(method: "POST", url: server.url("/echo"), body: Array("x".utf8), peerCheck: { address, _ in
            "\(address) is a loopback address"
        })
        let error = await failure { () async throws(CurlError) in try await client.execute(request) }
        #expect(error?.kind == .refusedPeer)
        #expect(error?.message.contains("127.0.0.1 is a loopback address") == true)
        #expect(error?.message.contains("127.0.0.1:\(server.port)") == true)

        // The same client goes on working, and a streamed request is refused the same way.
        let ok = try await client.execute(HTTPRequestSpec(url: server.url("/empty")))
        #expect(ok.head.status == 204)
        let streamError = await failure { () async throws(CurlError) in try await client.stream(request) }
        #expect(streamError?.kind == .refusedPeer)
    }

    @Test func checkIsAskedForEveryRequestOnAReusedConnection() async throws {
        let server = try await UpstreamServer.start(scripts: ["/ok": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let log = PeerLog()
        let allow = HTTPRequestSpec(url: server.url("/ok"), peerCheck: { address, port in
            log.record(address, port)
            return nil
        })
        _ = try await client.execute(allow)
        _ = try await client.execute(allow)
        #expect(try await server.stats().connections == 1)
        #expect(log.all.count == 2)
        let refuse = HTTPRequestSpec(url: server.url("/ok"), peerCheck: { _, _ in "not today" })
        let error = await failure { () async throws(CurlError) in try await client.execute(refuse) }
        #expect(error?.kind == .refusedPeer)
    }

    @Test func everyFollowedRedirectIsChecked() async throws {
        let server = try await UpstreamServer.start(scripts: ["/moved": .text(200, "moved")])
        defer { server.stop() }
        try await server.script("/redirect", .redirect(to: "http://localhost:\(server.port)/moved"))
        let client = makeClient()
        defer { client.shutdown() }
        let log = PeerLog()
        let request = HTTPRequestSpec(
            url: server.url("/redirect"), followRedirects: true,
            peerCheck: { address, port in
                log.record(address, port)
                return log.all.count > 1 ? "second hop refused" : nil
            }
        )
        let error = await failure { () async throws(CurlError) in try await client.execute(request) }
        #expect(error?.kind == .refusedPeer)
        #expect(error?.message.contains("second hop refused") == true)
        #expect(log.all.count == 2)
    }

    @Test func urlsAreParsedAndNormalisedByLibcurl() throws {
        let url = try CurlURL(parsing: "HTTPS://API.Example.COM:8443/a/./b/../c?sig=secret#frag")
        #expect(url.scheme == "https")
        #expect(url.host == "api.example.com")
        #expect(url.port == 8443)
        #expect(url.effectivePort == 8443)
        #expect(url.path == "/a/c")
        #expect(url.query == "sig=secret")
        #expect(!url.hasUserInfo)
        #expect(url.redacted == "https://api.example.com:8443/a/c?…")

        let plain = try CurlURL(parsing: "http://example.com")
        #expect(plain.port == nil)
        #expect(plain.effectivePort == 80)
        #expect(plain.path == "/")

        #expect(try CurlURL(parsing: "https://user:pw@example.com/").hasUserInfo)
        #expect(try CurlURL(parsing: "http://[::1]:8080/x").host == "[::1]")
        #expect(try CurlURL(parsing: "http://2130706433/").host == "127.0.0.1")
        #expect(throws: CurlURLError.self) { try CurlURL(parsing: "/relative/only") }
        #expect(throws: CurlURLError.self) { try CurlURL(parsing: "https://") }
    }

    @Test func referencesResolveAgainstTheURL() throws {
        let base = try CurlURL(parsing: "https://a.example.com/exports/1/file.json?sig=1")
        #expect(try base.resolving("part2.json").text == "https://a.example.com/exports/1/part2.json")
        #expect(try base.resolving("/other?x=1").text == "https://a.example.com/other?x=1")
        #expect(try base.resolving("//b.example.com/y").text == "https://b.example.com/y")
        #expect(try base.resolving("http://c.example.com/z").host == "c.example.com")
        #expect(try base.resolving("?page=2").text == "https://a.example.com/exports/1/file.json?page=2")
    }
}
