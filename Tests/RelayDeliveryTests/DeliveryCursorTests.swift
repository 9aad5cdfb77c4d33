// The per-destination delivery cursor: what it may pass, and what the dispatcher keeps across restarts.
import Foundation
import RelayCore
@testable import RelayDelivery
import RelayOutbox
import Synchronization
import Testing

@Suite struct DeliveryCursorTests {
    @Test func passesOnlyAResolvedPrefix() {
        var cursor = DeliveryCursor(committed: 10)
        for id: Int64 in [11, 12, 15, 16] { cursor.load(id) }
        cursor.resolve(12)
        cursor.resolve(16)
        #expect(cursor.candidate == 10 && !cursor.needsWrite && cursor.outstanding == 4)
        cursor.resolve(11)
        #expect(cursor.candidate == 12 && cursor.outstanding == 2)
        cursor.resolve(15)
        #expect(cursor.candidate == 16 && cursor.outstanding == 0 && cursor.needsWrite)
        cursor.commit(16)
        cursor.commit(12)
        #expect(cursor.committed == 16 && !cursor.needsWrite)
    }
}
