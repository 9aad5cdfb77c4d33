// Each documented error status, and hostile bodies that must not hurt the server.
import Foundation
@_spi(Testing) import RelayOutbox
import RelayTestSupport
import Testing

@Suite struct ErrorStatusTests {
    static let valid = Fixtures.json(Fixtures.sitecore)

    @Test func unknownPathIs404() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.post("/hooks/nowhere", json: Self.valid)
            #expect(response.status == 404)
            #expect(response.header("content-type") == "application/problem+json")
            #expect(response.bodyText.contains("/hooks/nowhere"))
        }
    }

    @Test func getOnSourcePathIs405WithAllow() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.get("/hooks/sitecore")
            #expect(response.status == 405)
            #expect(response.header("allow") == "POST")
        }
    }

    @Test(arguments: [nil, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] as [String?])
    func nonJSONContentTypeIs415(_ contentType: String?) async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.post("/hooks/sitecore", body: Array(Self.valid.utf8), contentType: contentType)
            #expect(response.status == 415, "\(contentType ?? "none")")
            #expect(response.json["status"] as? Int == 415)
        }
    }

    @Test(arguments: ["application/json; charset=utf-8", "application/cloudevents+json", "Application/JSON", " application/json ;charset=UTF-8"])
    func jsonContentTypeVariantsAreAccepted(_ contentType: String) async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.post("/hooks/sitecore", body: Array(Self.valid.utf8), contentType: contentType)
            #expect(response.status == 200, "\(contentType): \(response.bodyText)")
        }
    }

    /// (name, body, detail fragment)
    static let malformed: [(String, [UInt8], String)] = [
        ("truncated JSON", Array(#"{"apiUrl": "https://x", "status": "SUC"#.utf8), "malformed JSON"),
        ("trailing garbage", Array(#"{"a": 1} x"#.utf8), "malformed JSON"),
        ("top-level array", Array(#"[{"a": 1}]"#.utf8), "must be an object, got an array"),
        ("top-level string", Array(#""hello""#.utf8), "must be an object, got a string"),
        ("empty body", [], "body is empty"),
        ("invalid UTF-8", Array(#"{"segmentName": ""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8), "not valid UTF-8"),
        ("deeply nested arrays", Array(String(repeating: "[", count: 50_000).utf8), "nesting is deeper than 64"),
        ("deeply nested objects", Array((String(repeating: #"{"a":"#, count: 5_000) + "1" + String(repeating: "}", count: 5_000)).utf8), "nesting is deeper than 64"),
    ]

    @Test(arguments: malformed.indices)
    func malformedBodyIs400(_ index: Int) async throws {
        let (name, body, fragment) = Self.malformed[index]
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let response = try await relay.client.post("/hooks/sitecore", body: body)
            #expect(response.status == 400, "\(name): \(response.bodyText)")
            #expect((response.json["detail"] as? String ?? "").contains(fragment), "\(name): \(response.bodyText)")
            // The server keeps serving.
            #expect(try await relay.client.post("/hooks/sitecore", json: Self.valid).status == 200)
        }
    }

    @Test func tenMegabyteBodyIs413AndServerKeepsServing() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let huge = [UInt8](repeating: UInt8(ascii: " "), count: 10 << 20)
            let declared = try await relay.client.post("/hooks/sitecore", body: huge)
            #expect(declared.status == 413)
            #expect(declared.bodyText.contains("65536"))
            // Chunked, no Content-Length: the limit is enforced while reading.
            var chunked = "POST /hooks/sitecore HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            let chunk = String(repeating: "x", count: 16384)
            for _ in 0..<640 { chunked += String(16384, radix: 16) + "\r\n" + chunk + "\r\n" }
            chunked += "0\r\n\r\n"
            let streamed = try await relay.client.send(rawHead: chunked)
            #expect(streamed.status == 413)
            #expect(try await relay.client.post("/hooks/sitecore", json: Self.valid).status == 200)
            #expect(try await relay.storedEvents().count == 1)
        }
    }

    @Test func fullOutboxIs503WithRetryAfterAndNothingStored() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            #expect(try await relay.client.post("/hooks/sitecore", json: Self.valid).status == 200)
            let before = try await relay.storedEvents().count
            try relay.outbox.limitPageCount(1)  // every further page allocation fails: SQLITE_FULL
            var payload = Fixtures.sitecore
            payload["executionRef"] = UUID().uuidString.lowercased()
            payload["padding"] = String(repeating: "p", count: 20_000)
            let response = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(payload))
            #expect(response.status == 503, "\(response.bodyText)")
            #expect(Int(response.header("retry-after") ?? "") != nil)
            #expect(response.bodyText.contains("full"))
            #expect(try await relay.storedEvents().count == before)
        }
    }

    @Test func readOnlyOutboxIs503AndRecovers() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            try relay.outbox.setReadOnly(true)
            let refused = try await relay.client.post("/hooks/sitecore", json: Self.valid)
            #expect(refused.status == 503, "\(refused.bodyText)")
            #expect(refused.header("retry-after") != nil)
            #expect(refused.bodyText.contains("readonly") || refused.bodyText.contains("read-only") || refused.bodyText.contains("query_only"), "\(refused.bodyText)")
            try relay.outbox.setReadOnly(false)
            let accepted = try await relay.client.post("/hooks/sitecore", json: Self.valid)
            #expect(accepted.status == 200)
            #expect(try await relay.storedEvents().count == 1)
        }
    }

    @Test func operationsEndpoints() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let health = try await relay.client.get("/healthz")
            let ready = try await relay.client.get("/readyz")
            #expect(health.status == 200 && health.bodyText.contains("alive"))
            #expect(ready.status == 200)
        }
    }
}
