// Tests of the dispatcher and the delivery cursor together: restarts, retries and replays keep their place.
import Foundation
import RelayCore
@testable import RelayDelivery
import RelayOutbox
import RelayTestSupport
import Synchronization
import Testing

@Suite struct DispatcherCursorTests {
    /// Delivered rows are recorded by the cursor alone, and a restart sends none of them again.
    @Test func aRestartDoesNotRepeatDeliveredRows() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cursor-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = TestSink()
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": first], directory: directory) { h in
            for i in 0..<200 { try await h.accept("e\(i)", key: "k\(i % 7)", to: ["a"]) }
            #expect(await eventually { first.delivered.count == 200 })
        }
        let second = TestSink()
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": second], directory: directory) { h in
            let stats = try #require(try await h.outbox.stats(now: Date()).first)
            #expect(stats.delivered == 200 && stats.pending == 0)
            try await h.accept("after", to: ["a"])
            #expect(await eventually { second.delivered.count == 1 })
            #expect(second.attempts.map { String(decoding: $0.item.body, as: UTF8.self) } == ["after"])
        }
    }

    /// A delivery still in flight holds the cursor, so a crash at that moment repeats it and what follows.
    @Test func aDeliveryInFlightHoldsTheCursor() async throws {
        let gate = Gate()
        let sink = TestSink { item in
            if String(decoding: item.body, as: UTF8.self) == "slow" { await gate.pass() }
            return .delivered
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink]) { h in
            try await h.accept("slow", to: ["a"])
            #expect(await eventually { gate.waiting > 0 })
            for i in 0..<20 { try await h.accept("e\(i)", to: ["a"]) }
            #expect(await eventually { sink.delivered.count == 20 })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await h.outbox.deliveredThrough(destination: "a") == 0)
            #expect(try await h.outbox.stats(now: Date()).first?.pending == 21)
            gate.open()
            #expect(await eventually { (try? await h.outbox.stats(now: Date()).first?.pending) == 0 })
            #expect(try await h.outbox.stats(now: Date()).first?.delivered == 21)
        }
    }

    /// A row left retrying by the previous run goes before a later queued row of its key.
    @Test func retryingRowsOfAPreviousRunKeepTheirPlaceInTheirKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cursor-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let failing = TestSink { _ in .retry(after: .milliseconds(50), reason: "HTTP 503") }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": failing], directory: directory) { h in
            try await h.accept("first", key: "k", to: ["a"])
            #expect(await eventually { failing.attempts.count >= 1 })
            try await h.accept("second", key: "k", to: ["a"])
            try await h.accept("other", key: "x", to: ["a"])
            #expect(await eventually {
                failing.attempts.contains { String(decoding: $0.item.body, as: UTF8.self) == "other" }
            })
        }
        #expect(!failing.attempts.contains { String(decoding: $0.item.body, as: UTF8.self) == "second" })
        let fresh = TestSink()
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": fresh], directory: directory) { h in
            h.dispatcher.wakeAll()
            #expect(await eventually { fresh.delivered.count == 3 })
            let order = fresh.delivered.map { String(decoding: $0.body, as: UTF8.self) }.filter { $0 != "other" }
            #expect(order == ["first", "second"])
            #expect(fresh.delivered.first { String(decoding: $0.body, as: UTF8.self) == "first" }?.attempt ?? 0 > 1)
        }
    }

    /// Dead letters replayed after the cursor passed them are found again and delivered.
    @Test func replayedRowsBehindTheCursorAreDelivered() async throws {
        let sink = TestSink { item in String(decoding: item.body, as: UTF8.self) == "bad" ? .dead(reason: "HTTP 400") : .delivered }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink]) { h in
            try await h.accept("bad", to: ["a"])
            for i in 0..<5 { try await h.accept("e\(i)", to: ["a"]) }
            #expect(await eventually { (try? await h.outbox.stats(now: Date()).first?.dead) == 1 })
            #expect(await eventually { (try? await h.outbox.deliveredThrough(destination: "a")) ?? 0 > 0 })
            sink.setBehavior { _ in .delivered }
            let dead = try await h.outbox.deadLetters(destination: "a", limit: 10)
            #expect(try await h.outbox.replay(deliveryIDs: dead.map(\.deliveryID)) == 1)
            #expect(await eventually { sink.delivered.count == 6 })
            #expect(await eventually {
                let stats = try? await h.outbox.stats(now: Date()).first
                return stats?.delivered == 6 && stats?.pending == 0 && stats?.dead == 0
            })
        }
    }
}
