// HTTP sink against real loopback receivers (UpstreamServer: statuses, Retry-After, redirects, timeouts, refusals, TLS,
// signatures, headers, the circuit breaker, concurrency and isolation).
import Foundation
import RelayCore
import RelayCurl
import RelayDelivery
import RelayTestSupport
import Testing

@Suite(.timeLimit(.minutes(1)))
struct HTTPSinkTests {
    @Test func deliversTheBodyVerbatimWithStaticRouteAndCloudEventsHeaders() async throws {
        let server = try await UpstreamServer.start(scripts: ["/record": .text(204)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let destination = HTTPSinkFixture.destination(
            server.url("/record"), method: "PUT",
            headers: ["X-Static": "from-config", "X-Both": "from-config", "Content-Type": "text/plain"]
        )
        let sink = HTTPSinkFixture.sink(destination, client: client)
        let body = #"{"friendlyId":"a-1","name":"Zoë \"quoted\"","list":[1,2,3]}"#
        let item = HTTPSinkFixture.item(1, body: body, headers: [
            PlannedDelivery.Header(name: "X-Route", value: "from-route"),
            PlannedDelivery.Header(name: "x-both", value: "from-route"),
            PlannedDelivery.Header(name: "ce-id", value: "forged"),
        ])

        #expect(await sink.deliver([item]) == [.delivered])

        let requests = try await server.requests()
        try #require(requests.count == 1)
        let request = requests[0]
        #expect(request.method == "PUT")
        #expect(request.path == "/record")
        #expect(request.body == Array(body.utf8))
        #expect(request.headers(named: "ce-specversion") == ["1.0"])
        #expect(request.headers(named: "ce-id") == [item.eventID.rawValue])
        #expect(request.headers(named: "ce-source") == ["/audience-relay/sources/sitecore"])
        #expect(request.headers(named: "ce-type") == ["com.sitecore.cdp.audience-export.notification"])
        #expect(request.headers(named: "ce-subject") == ["audience-1"])
        #expect(request.headers(named: "ce-time") == [CloudEvents.time(HTTPSinkFixture.receivedAt)])
        #expect(request.headers(named: "content-type") == ["application/json"])
        #expect(request.headers(named: "x-static") == ["from-config"])
        #expect(request.headers(named: "x-route") == ["from-route"])
        #expect(request.headers(named: "x-both") == ["from-route"])
        #expect(request.headers(named: "webhook-id").isEmpty)
        #expect(request.headers(named: "webhook-signature").isEmpty)
    }

    @Test func headersThatCannotTravelInHTTPAreDeadAndNothingIsSent() async throws {
        let server = try await UpstreamServer.start(scripts: ["/record": .text(204)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/record")), client: client)
        let injected = HTTPSinkFixture.item(1, headers: [PlannedDelivery.Header(name: "X-Audience", value: "a\r\nX-Evil: 1")])
        #expect(await sink.deliver([injected, HTTPSinkFixture.item(2)])
            == [.dead(reason: "route header 'X-Audience' contains CR, LF or NUL; not sent"), .delivered])

        let misconfigured = HTTPSinkFixture.sink(
            HTTPSinkFixture.destination(server.url("/record"), headers: ["Authorization": "Bearer a\nb"]), client: client)
        #expect(await misconfigured.deliver([HTTPSinkFixture.item(3)])
            == [.dead(reason: "header 'Authorization' of destination downstream contains CR, LF or NUL; not sent")])
        #expect(try await server.requests().count == 1)
    }

    @Test func eachRetriableStatusIsRetriedWithTheBodyInTheReason() async throws {
        let server = try await UpstreamServer.start()
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        for status in [408, 429, 500, 502, 503, 504] {
            try await server.script("/status/\(status)", .text(status, "busy now"))
            let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/\(status)")), client: client)
            #expect(await sink.deliver([HTTPSinkFixture.item(status)]) == [.retry(after: nil, reason: "HTTP \(status): busy now")])
        }
        #expect(try await server.requests().filter { $0.path.hasPrefix("/status/") }.count == 6)
    }

    @Test func honoursRetryAfterAsSecondsAndAsAnHTTPDate() async throws {
        let server = try await UpstreamServer.start(scripts: [
            "/seconds": .text(503, headers: [("Retry-After", "120")]),
            "/dated": .text(429, "slow down", headers: [("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            "/garbled": .text(503, headers: [("Retry-After", "soon")]),
        ])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let seconds = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/seconds")), client: client)
        #expect(await seconds.deliver([HTTPSinkFixture.item(1)]) == [.retry(after: .seconds(120), reason: "HTTP 503")])

        // 07:26:30 by the sink's clock; the server asks for 07:28:00 the same day.
        let clock = HTTPSinkTestClock(Date(timeIntervalSince1970: 1_445_412_390))
        let dated = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/dated")), client: client, clock: clock.function)
        #expect(await dated.deliver([HTTPSinkFixture.item(2)]) == [.retry(after: .seconds(90), reason: "HTTP 429: slow down")])

        let garbled = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/garbled")), client: client)
        #expect(await garbled.deliver([HTTPSinkFixture.item(3)]) == [.retry(after: nil, reason: "HTTP 503")])
    }

    @Test func otherErrorStatusesAreDeadWithTheStatusAndTheFirstBytesOfTheBody() async throws {
        let long = String(repeating: "0123456789", count: 30)
        let server = try await UpstreamServer.start(scripts: ["/status/404": .text(404, long)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let notFound = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/404")), client: client)
        let expected = "HTTP 404: " + String(long.prefix(HTTPSink.bodyExcerptBytes)) + "…"
        #expect(await notFound.deliver([HTTPSinkFixture.item(1)]) == [.dead(reason: expected)])

        for status in [400, 401, 403, 410, 422, 501] {
            try await server.script("/status/\(status)", .text(status, "no\nthanks"))
            let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/\(status)")), client: client)
            #expect(await sink.deliver([HTTPSinkFixture.item(status)]) == [.dead(reason: "HTTP \(status): no thanks")])
        }
    }

    @Test func theRetriableStatusesAreConfigurable() async throws {
        let server = try await UpstreamServer.start(scripts: ["/status/409": .text(409), "/status/503": .text(503)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let conflict = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/409"), retryOnStatus: [409]), client: client)
        #expect(await conflict.deliver([HTTPSinkFixture.item(1)]) == [.retry(after: nil, reason: "HTTP 409")])
        let unavailable = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/503"), retryOnStatus: [409]), client: client)
        #expect(await unavailable.deliver([HTTPSinkFixture.item(2)]) == [.dead(reason: "HTTP 503")])
    }

    @Test func redirectsAreNotFollowedAndTheReasonNamesTheLocation() async throws {
        let server = try await UpstreamServer.start(scripts: [
            "/status/302": .text(302, headers: [("Location", "/record")]), "/status/308": .text(308), "/record": .text(204),
        ])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/302")), client: client)
        #expect(await sink.deliver([HTTPSinkFixture.item(1)]) == [.dead(reason: "HTTP 302 redirect to /record (redirects are not followed)")])
        let moved = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/status/308")), client: client)
        #expect(await moved.deliver([HTTPSinkFixture.item(2)]) == [.dead(reason: "HTTP 308 redirect without a Location (redirects are not followed)")])
        #expect(try await server.requests().map(\.path) == ["/status/302", "/status/308"])
    }

    @Test func aServerThatAcceptsAndNeverAnswersRunsIntoTheTotalTimeoutAndIsRetried() async throws {
        let server = try await UpstreamServer.start(scripts: ["/hang": .hang])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/hang"), timeout: .milliseconds(700)), client: client)
        let outcomes = await sink.deliver([HTTPSinkFixture.item(1)])
        guard case .retry(nil, let reason) = outcomes.first else {
            Issue.record("expected a retry, got \(outcomes)")
            return
        }
        #expect(reason.hasPrefix("timeout: "))
        #expect(try await server.requests(path: "/hang").count == 1)
    }

    @Test func aRefusedConnectionIsRetried() async throws {
        let server = try await UpstreamServer.start()
        let url = server.url("/record")
        server.stop()
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let outcomes = await HTTPSinkFixture.sink(HTTPSinkFixture.destination(url), client: client).deliver([HTTPSinkFixture.item(1)])
        guard case .retry(nil, let reason) = outcomes.first else {
            Issue.record("expected a retry, got \(outcomes)")
            return
        }
        #expect(reason.hasPrefix("connect: "))
    }

    @Test func tlsIsVerifiedAgainstTheConfiguredCA() async throws {
        let server = try await UpstreamServer.start(https: true, scripts: ["/record": .text(204)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let url = server.url("/record")

        let trusting = HTTPSinkFixture.sink(HTTPSinkFixture.destination(url, caFile: server.caFile), client: client)
        #expect(await trusting.deliver([HTTPSinkFixture.item(1)]) == [.delivered])

        let untrusting = HTTPSinkFixture.sink(HTTPSinkFixture.destination(url, breakerFailures: 1), client: client)
        let outcomes = await untrusting.deliver([HTTPSinkFixture.item(2)])
        guard case .dead(let reason) = outcomes.first else {
            Issue.record("expected a dead letter, got \(outcomes)")
            return
        }
        #expect(reason.hasPrefix("tls: "))
        #expect(reason.lowercased().contains("certificate"))
        // A certificate failure is not a breaker failure.
        #expect(untrusting.circuitState == .closed)
        #expect(try await server.requests(path: "/record").count == 1)
    }

    @Test func theSignatureIsAcceptedByAnIndependentVerifier() async throws {
        let secret = "whsec_" + Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let key = StandardWebhooks.key(fromSecret: secret)
        let server = try await UpstreamServer.start(scripts: ["/verify": UpstreamResponse.text(204).verifyingStandardWebhooks(key: key)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let url = server.url("/verify")
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(url), client: client, signingKey: key)
        let items = [
            HTTPSinkFixture.item(1),
            HTTPSinkFixture.item(2, body: #"{"name":"Zoë ✓","nested":{"a":[true,null]}}"#),
            HTTPSinkFixture.item(3, body: "{}"),
        ]

        #expect(await sink.deliver(items) == [.delivered, .delivered, .delivered])
        let requests = try await server.requests(path: "/verify")
        #expect(Set(requests.flatMap { $0.headers(named: "webhook-id") }) == Set(items.map(\.eventID.rawValue)))
        #expect(requests.allSatisfy { $0.header("webhook-signature")?.hasPrefix("v1,") == true })

        let wrongKey = HTTPSinkFixture.sink(HTTPSinkFixture.destination(url), client: client, signingKey: Array("not-the-key".utf8))
        #expect(await wrongKey.deliver([HTTPSinkFixture.item(4)]) == [.dead(reason: "HTTP 401: bad signature")])
        let unsigned = HTTPSinkFixture.sink(HTTPSinkFixture.destination(url), client: client)
        #expect(await unsigned.deliver([HTTPSinkFixture.item(5)]) == [.dead(reason: "HTTP 401: missing webhook headers")])
    }

    @Test func theBreakerOpensShieldsTheServerAndClosesAfterOneSuccessfulProbe() async throws {
        let server = try await UpstreamServer.start(scripts: ["/switch": .text(503, "switched")])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let clock = HTTPSinkTestClock(Date(timeIntervalSince1970: 1_763_900_000))
        let destination = HTTPSinkFixture.destination(server.url("/switch"), breakerFailures: 3, breakerCoolDown: .seconds(30))
        let sink = HTTPSinkFixture.sink(destination, client: client, clock: clock.function)

        for number in 0..<3 {
            #expect(await sink.deliver([HTTPSinkFixture.item(number)]) == [.retry(after: nil, reason: "HTTP 503: switched")])
        }
        #expect(sink.circuitState == .open(until: clock.now.addingTimeInterval(30)))

        // Open: answered at once, nothing sent.
        clock.advance(by: 10)
        let rejected = await sink.deliver(HTTPSinkFixture.items(10..<15))
        let reason = "circuit open after 3 consecutive failures (last: HTTP 503: switched)"
        #expect(rejected == Array(repeating: .notSent(after: .seconds(20), reason: reason), count: 5))
        #expect(try await server.requests(path: "/switch").count == 3)

        // Half-open: one probe goes out (held by the server); everything else is turned away meanwhile.
        clock.advance(by: 21)
        try await server.script("/switch", UpstreamResponse.text(200, "switched").heldUntilReleased())
        let probe = Task { await sink.deliver([HTTPSinkFixture.item(20)]) }
        #expect(try await server.waitForRequests(path: "/switch", count: 4))
        let whileProbing = await sink.deliver(HTTPSinkFixture.items(21..<24))
        #expect(whileProbing.allSatisfy {
            if case .notSent(nil, let reason) = $0 { return reason.hasPrefix("circuit half-open") }
            return false
        })
        #expect(try await server.requests(path: "/switch").count == 4)

        try await server.release()
        #expect(await probe.value == [.delivered])
        #expect(sink.circuitState == .closed)
        #expect(await sink.deliver(HTTPSinkFixture.items(30..<34)) == Array(repeating: .delivered, count: 4))
        #expect(try await server.requests(path: "/switch").count == 8)
    }

    @Test func concurrencyIsCappedForTheDestinationAcrossConcurrentBatches() async throws {
        let server = try await UpstreamServer.start(scripts: ["/slow": UpstreamResponse.text(204).delayed(.milliseconds(300))])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/slow"), concurrency: 3), client: client)
        #expect(sink.maxBatchSize == 48)
        #expect(sink.maxConcurrentBatches == 2)

        async let first = sink.deliver(HTTPSinkFixture.items(0..<6))
        async let second = sink.deliver(HTTPSinkFixture.items(6..<12))
        let outcomes = await first + second
        #expect(outcomes == Array(repeating: .delivered, count: 12))
        let peak = try await server.stats().maxInFlight
        #expect(peak <= 3)
        #expect(peak >= 2)
    }

    @Test func concurrentBatchesShareTheSlotsInsteadOfTheSecondWaitingForTheFirstsTail() async throws {
        let server = try await UpstreamServer.start(scripts: ["/slow": UpstreamResponse.text(204).delayed(.milliseconds(200))])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/slow"), concurrency: 4), client: client)
        let first = Task { await sink.deliver(HTTPSinkFixture.items(0..<8)) }
        // Alone, the first batch takes every slot.
        #expect(try await server.waitForRequests(path: "/slow", count: 4))
        let second = Task { await sink.deliver(HTTPSinkFixture.items(100..<108)) }
        let outcomes = await first.value + second.value
        #expect(outcomes == Array(repeating: .delivered, count: 16))
        let order = try await server.requests(path: "/slow").map { $0.header("ce-subject") ?? "" }
        #expect(order.count == 16)
        // Once the second waits, the first gives back what is beyond its half: the second starts before the first's last request.
        let lastOfFirst = try #require(order.lastIndex { $0.count == "audience-0".count })
        let firstOfSecond = try #require(order.firstIndex { $0.count == "audience-100".count })
        #expect(firstOfSecond < lastOfFirst)
        #expect(try await server.stats().maxInFlight <= 4)
    }

    @Test func aHangingDestinationDoesNotHoldUpAnother() async throws {
        let hanging = try await UpstreamServer.start(scripts: ["/hang": .hang])
        defer { hanging.stop() }
        let healthy = try await UpstreamServer.start(scripts: ["/record": .text(204)])
        defer { healthy.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let stuck = HTTPSinkFixture.sink(HTTPSinkFixture.destination(hanging.url("/hang"), timeout: .seconds(50), concurrency: 2), client: client)
        let fine = HTTPSinkFixture.sink(HTTPSinkFixture.destination(healthy.url("/record"), concurrency: 4), client: client)

        let stuckDone = HTTPSinkTestFlag()
        let stuckBatch = Task {
            defer { stuckDone.set() }
            return await stuck.deliver(HTTPSinkFixture.items(0..<6))
        }
        #expect(try await hanging.waitForRequests(path: "/hang", count: 2))

        for round in 0..<8 {
            let batch = HTTPSinkFixture.items(100 + round * 16..<116 + round * 16)
            #expect(await fine.deliver(batch) == Array(repeating: .delivered, count: 16))
        }
        #expect(try await healthy.requests(path: "/record").count == 128)
        #expect(!stuckDone.isSet)
        // The stuck destination's own limit held: two requests hang, four wait their turn.
        #expect(try await hanging.requests(path: "/hang").count == 2)

        stuckBatch.cancel()
        let stuckOutcomes = await stuckBatch.value
        #expect(stuckOutcomes.count == 6)
        // Those sent count as attempts, those still waiting for a slot when cancelled were never sent
        // (a waiting one may take a slot freed by the cancellation and go out first).
        let sent = stuckOutcomes.filter { if case .retry = $0 { return true } else { return false } }.count
        let unsent = stuckOutcomes.filter { if case .notSent = $0 { return true } else { return false } }.count
        #expect(sent + unsent == 6)
        #expect(sent == (try await hanging.requests(path: "/hang").count))
    }

    @Test func aShutDownSinkSendsNothing() async throws {
        let server = try await UpstreamServer.start(scripts: ["/record": .text(204)])
        defer { server.stop() }
        let client = HTTPSinkFixture.client()
        defer { client.shutdown() }
        let sink = HTTPSinkFixture.sink(HTTPSinkFixture.destination(server.url("/record")), client: client)
        await sink.shutdown()
        #expect(await sink.deliver([HTTPSinkFixture.item(1)]) == [.notSent(after: nil, reason: "the HTTP sink downstream is shut down")])
        #expect(try await server.requests().isEmpty)
    }
}
