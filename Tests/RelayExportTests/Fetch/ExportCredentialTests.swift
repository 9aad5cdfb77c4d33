// Credentials on export requests against a real loopback upstream: bearer, basic, and OAuth2
// client credentials (token cached, refetched on expiry, refreshed once on a 401).

import Foundation
import RelayCore
import RelayCurl
@testable import RelayExport
import RelayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ExportCredentialTests {
    private func fetcher(
        _ settings: ExportSourceSettings, client: CurlClient, secrets: [String: String], clock: ManualClock = ManualClock()
    ) -> ExportFetcher {
        let credentials = ExportCredentialProvider(
            source: "sitecore", credentials: settings.credentials, policy: ExportURLPolicy(source: "sitecore", settings: settings),
            client: client, secrets: secretTable(secrets), logger: fetchLogger, now: { clock.now() }
        )
        return ExportFetcher(source: "sitecore", settings: settings, client: client, credentials: credentials, logger: fetchLogger)
    }

    private func oauth2(_ server: UpstreamServer, scope: String? = "audiences:read") -> ExportCredentials {
        .oauth2(OAuth2ClientCredentials(tokenURL: server.url("/oauth/token"), clientID: "relay client", clientSecret: env("CLIENT_SECRET"), scope: scope))
    }

    private func open(_ fetcher: ExportFetcher, _ url: String) async throws(ExportFetchFailure) -> [UInt8] {
        try await readAll(try await fetcher.open(url: url, context: "apiUrl").body)
    }

    @Test func bearerAndBasicHeadersReachTheServer() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("*", .text(200, "ok"))
        let secrets = ["TOKEN": "tok-123\n", "PASSWORD": "pä:ss"]

        let bearer = fetcher(loopbackSettings(credentials: .bearer(token: env("TOKEN"))), client: client, secrets: secrets)
        _ = try await open(bearer, server.url("/bearer"))
        let basic = fetcher(loopbackSettings(credentials: .basic(username: "relay", password: env("PASSWORD"))), client: client, secrets: secrets)
        _ = try await open(basic, server.url("/basic"))

        #expect(try await server.requests(path: "/bearer").first?.header("Authorization") == "Bearer tok-123")
        let expected = "Basic " + Data("relay:pä:ss".utf8).base64EncodedString()
        #expect(try await server.requests(path: "/basic").first?.header("Authorization") == expected)
    }

    @Test func unreadableSecretIsRetried() async throws {
        let client = makeFetchClient()
        defer { client.shutdown() }
        let fetcher = fetcher(loopbackSettings(credentials: .bearer(token: env("MISSING"))), client: client, secrets: [:])
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: "http://127.0.0.1:9/x", context: "apiUrl") }
        #expect(failure?.isRetry == true)
        #expect(failure?.reason.contains("cannot read the export bearer token (env:MISSING)") == true)
    }

    @Test func oauth2TokenIsFetchedOnceAndReused() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .oauthToken("t-1", expiresIn: 3600))
        try await server.script("/export", .text(200, "data"))
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server)), client: client, secrets: ["CLIENT_SECRET": "s3cr3t&="])

        _ = try await open(fetcher, server.url("/export"))
        _ = try await open(fetcher, server.url("/export"))

        let tokenRequests = try await server.requests(path: "/oauth/token")
        #expect(tokenRequests.count == 1)
        let tokenRequest = try #require(tokenRequests.first)
        #expect(tokenRequest.method == "POST")
        #expect(tokenRequest.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(tokenRequest.formFields == ["grant_type": "client_credentials", "scope": "audiences:read"])
        // RFC 6749 §2.3.1: client id and secret are form-encoded before the basic encoding.
        #expect(tokenRequest.header("Authorization") == "Basic " + Data("relay+client:s3cr3t%26%3D".utf8).base64EncodedString())
        #expect(try await server.requests(path: "/export").map { $0.header("Authorization") } == ["Bearer t-1", "Bearer t-1"])
    }

    /// Token endpoints that need more than the client-credentials grant (an `audience`, a `resource`) get
    /// the configured extra form fields, encoded like the others, after grant_type and scope.
    @Test func oauth2TokenRequestCarriesTheExtraParameters() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .oauthToken("t-aud", expiresIn: 3600))
        try await server.script("/export", .text(200, "data"))
        let credentials = ExportCredentials.oauth2(OAuth2ClientCredentials(
            tokenURL: server.url("/oauth/token"), clientID: "relay", clientSecret: env("CLIENT_SECRET"), scope: "audiences:read",
            extraParameters: [.init(name: "audience", value: "https://api.sitecorecloud.io"), .init(name: "resource", value: "a b&c")]))
        let fetcher = fetcher(loopbackSettings(credentials: credentials), client: client, secrets: ["CLIENT_SECRET": "s"])

        _ = try await open(fetcher, server.url("/export"))

        let tokenRequest = try #require(try await server.requests(path: "/oauth/token").first)
        #expect(tokenRequest.formFields == ["grant_type": "client_credentials", "scope": "audiences:read",
                                            "audience": "https://api.sitecorecloud.io", "resource": "a b&c"])
        #expect(tokenRequest.bodyText
            == "grant_type=client_credentials&scope=audiences%3Aread&audience=https%3A%2F%2Fapi.sitecorecloud.io&resource=a+b%26c")
        #expect(try await server.requests(path: "/export").first?.header("Authorization") == "Bearer t-aud")
    }

    @Test func concurrentFetchesShareOneTokenRequest() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", UpstreamResponse.oauthToken("t-1").delayed(.milliseconds(300)))
        try await server.script("/export", .text(200, "data"))
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server, scope: nil)), client: client, secrets: ["CLIENT_SECRET": "x"])
        let url = server.url("/export")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask { _ = try await self.open(fetcher, url) }
            }
            try await group.waitForAll()
        }
        #expect(try await server.requests(path: "/oauth/token").count == 1)
        #expect(try await server.requests(path: "/oauth/token").first?.formFields == ["grant_type": "client_credentials"])
        #expect(try await server.requests(path: "/export").count == 5)
    }

    @Test func expiredTokenIsFetchedAgain() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .oauthToken("t-1", expiresIn: 1), .oauthToken("t-2", expiresIn: 1))
        try await server.script("/export", .text(200, "data"))
        let clock = ManualClock()
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server)), client: client, secrets: ["CLIENT_SECRET": "x"], clock: clock)

        _ = try await open(fetcher, server.url("/export"))
        clock.advance(by: .milliseconds(500))
        _ = try await open(fetcher, server.url("/export"))
        clock.advance(by: .milliseconds(500))  // past expires_in minus 10 %
        _ = try await open(fetcher, server.url("/export"))

        #expect(try await server.requests(path: "/oauth/token").count == 2)
        #expect(try await server.requests(path: "/export").map { $0.header("Authorization") } == ["Bearer t-1", "Bearer t-1", "Bearer t-2"])
    }

    @Test func unauthorizedRefreshesTheTokenOnce() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .oauthToken("t-1"), .oauthToken("t-2"))
        try await server.script("/export", .text(401, "token revoked"), .text(200, "data"))
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server)), client: client, secrets: ["CLIENT_SECRET": "x"])

        #expect(try await open(fetcher, server.url("/export")) == Array("data".utf8))
        #expect(try await server.requests(path: "/oauth/token").count == 2)
        #expect(try await server.requests(path: "/export").map { $0.header("Authorization") } == ["Bearer t-1", "Bearer t-2"])
    }

    @Test func secondUnauthorizedIsRejected() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .oauthToken("t-1"), .oauthToken("t-2"), .oauthToken("t-3"))
        try await server.script("/export", .text(401, "{\"error\":\"invalid_token\"}"))
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server)), client: client, secrets: ["CLIENT_SECRET": "x"])

        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/export"), context: "apiUrl") }
        #expect(failure?.rejectedStatus == 401)
        #expect(failure?.reason.contains("invalid_token") == true)
        #expect(failure?.reason.contains("again after a fresh token") == true)
        #expect(try await server.requests(path: "/oauth/token").count == 2)
        #expect(try await server.requests(path: "/export").count == 2)
    }

    @Test func staticCredentialsAreNotRetriedOn401() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/export", .text(401, "bad token"))
        let fetcher = fetcher(loopbackSettings(credentials: .bearer(token: env("TOKEN"))), client: client, secrets: ["TOKEN": "t"])
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: server.url("/export"), context: "apiUrl") }
        #expect(failure?.rejectedStatus == 401)
        #expect(try await server.requests(path: "/export").count == 1)
    }

    @Test func tokenEndpointFailuresAreClassified() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = makeFetchClient()
        defer { client.shutdown() }
        try await server.script("/oauth/token", .json(401, "{\"error\":\"invalid_client\"}"), .text(503, "", headers: [(name: "Retry-After", value: "9")]), .json(200, "{\"token_type\":\"Bearer\"}"))
        try await server.script("/export", .text(200, "data"))
        let fetcher = fetcher(loopbackSettings(credentials: oauth2(server)), client: client, secrets: ["CLIENT_SECRET": "x"])
        let url = server.url("/export")

        let refused = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: url, context: "apiUrl") }
        #expect(refused?.rejectedStatus == 401)
        #expect(refused?.reason.contains("OAuth2 token endpoint \(server.url("/oauth/token")) answered 401: {\"error\":\"invalid_client\"}") == true)
        let unavailable = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: url, context: "apiUrl") }
        #expect(unavailable?.retryAfter == .some(.seconds(9)))
        let malformed = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: url, context: "apiUrl") }
        #expect(malformed?.reason.contains("without an access_token") == true)
        #expect(try await server.requests(path: "/export").isEmpty)
    }

    @Test func plainHTTPTokenURLIsRefusedUnlessItsHostMayUseIt() async throws {
        let client = makeFetchClient()
        defer { client.shutdown() }
        let credentials = ExportCredentials.oauth2(OAuth2ClientCredentials(tokenURL: "http://login.example.com/token", clientID: "c", clientSecret: env("S")))
        let settings = loopbackSettings(credentials: credentials)
        let fetcher = fetcher(settings, client: client, secrets: ["S": "x"])
        let failure = await fetchFailure { () async throws(ExportFetchFailure) in try await fetcher.open(url: "http://127.0.0.1:9/x", context: "apiUrl") }
        #expect(failure?.isForbidden == true)
        #expect(failure?.reason.contains("tokenUrl") == true)
        #expect(failure?.reason.contains("plain http is refused") == true)
    }
}
