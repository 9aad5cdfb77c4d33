// Each inbound auth mode, good and bad, over real HTTP.
import Foundation
import RelayCore
import RelayTestSupport
import Testing

@Suite struct AuthOverHTTPTests {
    static let keyA = Array("current-secret-key-A".utf8)
    static let keyB = Array("previous-secret-key-B".utf8)
    static let auth: [String: ResolvedAuth] = [
        "basic": .basic(username: Array("relay".utf8), password: Array("s3cret".utf8)),
        "bearer": .bearer(token: Array("tok-123".utf8)),
        "signed": .standardWebhooks(keys: [keyA, keyB], tolerance: .seconds(300)),
    ]
    static let body = Fixtures.json(Fixtures.adobeOperation)

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func signed(key: [UInt8], id: String = "msg_1", at timestamp: Int64 = Int64(Date().timeIntervalSince1970), body: String = body) -> [(String, String)] {
        [("webhook-id", id), ("webhook-timestamp", String(timestamp)),
         ("webhook-signature", StandardWebhooks.headerValue(key: key, id: id, timestamp: timestamp, body: Array(body.utf8)))]
    }

    /// (name, path, headers, expected status, detail fragment)
    static let cases: [(String, String, [(String, String)], Int, String)] = {
        let now = Int64(Date().timeIntervalSince1970)
        return [
            ("none: no credentials", "/open", [], 200, ""),
            ("basic: good", "/basic", [("Authorization", basic("relay", "s3cret"))], 200, ""),
            ("basic: wrong password", "/basic", [("Authorization", basic("relay", "nope"))], 401, "invalid username or password"),
            ("basic: wrong user", "/basic", [("Authorization", basic("root", "s3cret"))], 401, "invalid username or password"),
            ("basic: missing", "/basic", [], 401, "missing Authorization"),
            ("basic: garbage", "/basic", [("Authorization", "Basic !!!")], 401, "not valid basic"),
            ("bearer: good", "/bearer", [("Authorization", "Bearer tok-123")], 200, ""),
            ("bearer: lowercase scheme", "/bearer", [("Authorization", "bearer tok-123")], 200, ""),
            ("bearer: wrong token", "/bearer", [("Authorization", "Bearer tok-124")], 401, "invalid bearer token"),
            ("bearer: prefix of token", "/bearer", [("Authorization", "Bearer tok-12")], 401, "invalid bearer token"),
            ("bearer: missing", "/bearer", [], 401, "missing Authorization"),
            ("bearer: basic scheme", "/bearer", [("Authorization", basic("a", "b"))], 401, "Bearer scheme"),
            ("signed: good", "/signed", signed(key: keyA), 200, ""),
            ("signed: rotated (old key)", "/signed", signed(key: keyB), 200, ""),
            ("signed: several signatures, one good", "/signed",
             [("webhook-id", "msg_1"), ("webhook-timestamp", String(now)),
              ("webhook-signature", "v1,AAAA " + StandardWebhooks.headerValue(key: keyB, id: "msg_1", timestamp: now, body: Array(body.utf8)))], 200, ""),
            ("signed: unknown key", "/signed", signed(key: Array("other".utf8)), 401, "no webhook-signature matches"),
            ("signed: body tampered", "/signed", signed(key: keyA, body: body + " "), 401, "no webhook-signature matches"),
            ("signed: expired timestamp", "/signed", signed(key: keyA, at: now - 3600), 401, "outside the allowed tolerance"),
            ("signed: future timestamp", "/signed", signed(key: keyA, at: now + 3600), 401, "outside the allowed tolerance"),
            ("signed: missing signature", "/signed", Array(signed(key: keyA).prefix(2)), 401, "missing webhook-signature"),
            ("signed: missing id", "/signed", Array(signed(key: keyA).dropFirst()), 401, "missing webhook-id"),
            ("signed: bad timestamp", "/signed", [("webhook-id", "m"), ("webhook-timestamp", "yesterday"), ("webhook-signature", "v1,x")], 401, "integer seconds"),
        ]
    }()

    @Test(arguments: cases.indices)
    func authMode(_ index: Int) async throws {
        let (name, path, headers, status, fragment) = Self.cases[index]
        try await TestRelay.run(yaml: Fixtures.authTable, auth: Self.auth) { relay in
            let response = try await relay.client.post(path, json: Self.body, headers: headers)
            #expect(response.status == status, "\(name): \(response.bodyText)")
            if status == 401 {
                #expect((response.json["detail"] as? String ?? "").contains(fragment), "\(name): \(response.bodyText)")
                #expect(try await relay.storedEvents().isEmpty)
            }
            if path == "/basic" && status == 401 { #expect(response.header("www-authenticate")?.hasPrefix("Basic") == true) }
        }
    }

    /// Unauthenticated callers learn nothing else: a bad body without credentials is still 401.
    @Test func authIsCheckedBeforeTheBody() async throws {
        try await TestRelay.run(yaml: Fixtures.authTable, auth: Self.auth) { relay in
            let response = try await relay.client.post("/bearer", body: Array("not json".utf8), contentType: "text/plain")
            #expect(response.status == 401)
        }
    }
}
