// Dedupe seen from a sender: the same notification posted twice over HTTP is answered as a duplicate and delivered once.
import Foundation
import RelayOutbox
import RelayTestSupport
import Testing

@Suite struct DuplicateOverHTTPTests {
    /// Delivery rows (destination and event id) as stored, in order: what the dispatcher will send.
    static func deliveries(_ relay: TestRelay) async throws -> [String] {
        try await OutboxFile(path: relay.outbox.path).query("SELECT destination, event_id FROM deliveries ORDER BY id")
    }

    @Test func theSameNotificationTwiceIsADuplicateWithNoSecondDelivery() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            let json = Fixtures.json(Fixtures.sitecore)
            let first = try await relay.client.post("/hooks/sitecore", json: json)
            #expect(first.status == 200, "\(first.bodyText)")
            #expect(first.json["duplicate"] as? Bool == false)
            #expect(first.json["deliveries"] as? Int == 2)
            let id = try #require(first.json["id"] as? String)
            #expect(try await Self.deliveries(relay) == ["events|\(id)", "crm|\(id)"])

            let second = try await relay.client.post("/hooks/sitecore", json: json)
            #expect(second.status == 200, "\(second.bodyText)")
            #expect(second.json["duplicate"] as? Bool == true)
            #expect(second.json["id"] as? String == id)
            #expect(try await Self.deliveries(relay) == ["events|\(id)", "crm|\(id)"])
            #expect(try await relay.storedEvents().count == 1)
        }
    }

    /// Sitecore reports one execution once per status: PENDING_EMR_JOB then SUCCESS are two events,
    /// and the SUCCESS reaches the route that only takes successes.
    @Test func aLaterStatusOfTheSameExecutionIsNotADuplicate() async throws {
        try await TestRelay.run(yaml: Fixtures.table) { relay in
            var pending = Fixtures.sitecore
            pending["status"] = "PENDING_EMR_JOB"
            let first = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(pending))
            #expect(first.json["duplicate"] as? Bool == false)
            let firstID = try #require(first.json["id"] as? String)

            let success = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(Fixtures.sitecore))
            #expect(success.status == 200, "\(success.bodyText)")
            #expect(success.json["duplicate"] as? Bool == false)
            let successID = try #require(success.json["id"] as? String)
            #expect(successID != firstID)
            #expect(try await Self.deliveries(relay) == ["events|\(firstID)", "events|\(successID)", "crm|\(successID)"])

            let again = try await relay.client.post("/hooks/sitecore", json: Fixtures.json(Fixtures.sitecore))
            #expect(again.json["duplicate"] as? Bool == true)
            #expect(again.json["id"] as? String == successID)
            #expect(try await Self.deliveries(relay).count == 3)
        }
    }
}
