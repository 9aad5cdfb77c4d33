// Tests of how delivery headers are stored in the outbox.
import Foundation
import GRDB
import Logging
import RelayCore
@testable import RelayOutbox
import Testing

@Suite struct HeaderStorageTests {
    /// Route headers survive the round trip through the outbox, whatever characters they carry.
    @Test func headersRoundTrip() async throws {
        try await OutboxTestSupport.withOutbox { outbox, _ in
            let headers = [PlannedDelivery.Header(name: "a", value: "plain"),
                           PlannedDelivery.Header(name: "quote\"back\\slash", value: "line\nbreak\ttab \u{1} café ✓"),
                           PlannedDelivery.Header(name: "empty", value: "")]
            var event = OutboxTestSupport.event()
            event.deliveries = [PlannedDelivery(destination: "k", key: nil, headers: headers, route: "r")]
            _ = try await outbox.append(event)
            let stored = try await outbox.queuedDeliveries(destination: "k", afterID: 0, limit: 1)
            #expect(stored.first?.item.headers == headers)
        }
    }
}
