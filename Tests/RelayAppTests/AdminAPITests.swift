// The admin API over real HTTP: bearer token, its own listener, pause/resume, stats, export retry.
import Foundation
import RelayTestSupport
import Testing

@Suite(.serialized)
struct AdminAPITests {
    @Test func theTokenIsRequiredAndAdminIsNotOnThePublicListener() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly)
        defer { ops.stop() }
        let none = try await ops.admin("GET", "/admin/stats", token: nil)
        #expect(none.status == 401)
        #expect(none.header("content-type") == "application/problem+json")
        #expect(none.header("www-authenticate") == "Bearer")
        #expect(try await ops.admin("GET", "/admin/stats", token: "wrong").status == 401)
        #expect(try await ops.admin("GET", "/admin/stats", token: OperatedRelay.token + "x").status == 401)
        let stats = try await ops.admin("GET", "/admin/stats")
        #expect(stats.status == 200)
        #expect(stats.header("content-type") == "application/json")
        #expect((stats.json["destinations"] as? [[String: Any]])?.first?["destination"] as? String == "alpha")
        #expect(stats.json["exports"] != nil)
        // The public listener knows nothing of /admin.
        #expect(try await ops.relay.client.get("/admin/stats").status == 404)
        #expect(try await ops.relay.client.post("/admin/reload", body: []).status == 404)
        // Unknown paths and wrong methods say so.
        #expect(try await ops.admin("GET", "/admin/nothing").status == 404)
        #expect(try await ops.admin("GET", "/admin/reload").status == 405)
        #expect(try await ops.admin("POST", "/admin/destinations/nope/pause").status == 404)
        #expect(try await ops.admin("POST", "/admin/exports/9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c/retry").status == 404)
        #expect(try await ops.admin("GET", "/admin/exports").status == 200)
        #expect(try await ops.admin("POST", "/admin/dead/replay", json: "{}").status == 400)
    }

    @Test func pauseHoldsDeliveriesAndResumeReleasesThemInOrder() async throws {
        let ops = try await OperatedRelay(routes: Tables.alphaOnly)
        defer { ops.stop() }
        let paused = try await ops.admin("POST", "/admin/destinations/alpha/pause")
        #expect(paused.status == 200)
        #expect(paused.json["paused"] as? Bool == true)
        var references: [String] = []
        for _ in 0..<5 {
            let (status, reference) = await ops.notify(friendlyId: "same_key")
            #expect(status == 200)
            references.append(reference)
        }
        try await Task.sleep(for: .seconds(1))
        #expect(try await ops.delivered(to: "/a").isEmpty, "nothing is sent while paused")
        let stats = try await ops.admin("GET", "/admin/stats")
        let alpha = (stats.json["destinations"] as? [[String: Any]])?.first { $0["destination"] as? String == "alpha" }
        #expect(alpha?["paused"] as? Bool == true)
        #expect(alpha?["pending"] as? Int == 5)
        #expect(try await ops.metric("relay_destination_paused{destination=\"alpha\"}") == 1)

        #expect(try await ops.admin("POST", "/admin/destinations/alpha/resume").status == 200)
        #expect(try await eventually { try await ops.delivered(to: "/a").count == 5 })
        #expect(try await ops.delivered(to: "/a") == references, "released in acceptance order")
        #expect(try await ops.metric("relay_destination_paused{destination=\"alpha\"}") == 0)
    }
}
