// The dispatcher over a real SQLite outbox: retries, Retry-After, dead letters, replay, per-key order, isolation.
import Foundation
import RelayCore
import RelayDelivery
import RelayOutbox
import RelayTestSupport
import Synchronization
import Testing

@Suite struct DispatcherTests {
    @Test func deliversAndRecords() async throws {
        let sink = TestSink()
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink]) { h in
            for i in 0..<50 { try await h.accept("e\(i)", to: ["a"]) }
            #expect(await eventually { sink.delivered.count == 50 })
            #expect(await eventually { (try? await h.outbox.stats(now: Date()).first?.delivered) == 50 })
            #expect(sink.attempts.allSatisfy { $0.item.attempt == 1 })
        }
    }

    @Test func retriesWithBackoffThenDelivers() async throws {
        let failures = Mutex(0)
        let sink = TestSink { _ in
            failures.withLock { n in
                n += 1
                return n <= 3 ? .retry(after: nil, reason: "HTTP 503") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a", initial: .milliseconds(40), max: .milliseconds(200))],
                                        sinks: ["a": sink], random: { 0.999 }) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { sink.delivered.count == 1 })
            let times = sink.attempts.map(\.at)
            #expect(sink.attempts.map(\.item.attempt) == [1, 2, 3, 4])
            // Ceilings 40, 80, 160 ms with the jitter draw pinned near 1.
            let gaps = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
            for (gap, expected) in zip(gaps, [0.04, 0.08, 0.16]) { #expect(gap >= expected * 0.95, "\(gaps)") }
        }
    }

    @Test func honoursRetryAfterFromTheSink() async throws {
        let calls = Mutex(0)
        let sink = TestSink { _ in
            calls.withLock { n in
                n += 1
                return n == 1 ? .retry(after: .milliseconds(400), reason: "HTTP 429") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink], random: { 0 }) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { sink.delivered.count == 1 })
            let times = sink.attempts.map(\.at)
            #expect(times[1].timeIntervalSince(times[0]) >= 0.39)
        }
    }

    @Test func injectedClockDecidesWhenARetryIsDue() async throws {
        // Start ahead of the wall clock so the new delivery (stamped with real time) is due at once.
        let clock = ManualClock(Date().addingTimeInterval(1))
        let calls = Mutex(0)
        let sink = TestSink(clock: clock) { _ in
            calls.withLock { n in
                n += 1
                return n == 1 ? .retry(after: .seconds(30), reason: "later") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink], clock: { clock.current }) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { sink.attempts.count == 1 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(sink.attempts.count == 1, "retried before the clock reached the retry time")
            clock.advance(by: 29)
            h.dispatcher.wakeAll()
            try await Task.sleep(for: .milliseconds(200))
            #expect(sink.attempts.count == 1)
            clock.advance(by: 2)
            h.dispatcher.wakeAll()
            #expect(await eventually { sink.delivered.count == 1 })
            let attempts = sink.attempts
            #expect(attempts.count == 2 && attempts[1].at.timeIntervalSince(attempts[0].at) >= 30)
        }
    }

    @Test func deadLettersAfterMaxAttemptsThenReplayDelivers() async throws {
        let sink = TestSink { _ in .retry(after: nil, reason: "HTTP 503 Service Unavailable") }
        try await DispatcherHarness.run(destinations: [destination("a", maxAttempts: 3)], sinks: ["a": sink]) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { (try? await h.outbox.deadLetters(destination: "a", limit: 10).count) == 1 })
            let dead = try await h.outbox.deadLetters(destination: "a", limit: 10)
            #expect(dead.first?.attempts == 3)
            #expect(dead.first?.reason == "gave up after 3 attempt(s): HTTP 503 Service Unavailable")
            #expect(sink.attempts.count == 3)
            sink.setBehavior { _ in .delivered }
            #expect(try await h.outbox.replay(destination: "a") == 1)
            #expect(await eventually { sink.delivered.count == 1 })
            #expect(try await h.outbox.deadLetters(destination: "a", limit: 10).isEmpty)
        }
    }

    /// A delivery the sink turned away unsent (breaker open, shutting down) was no attempt: it
    /// waits as long as it takes without using up `maxAttempts`.
    @Test func deliveriesTurnedAwayUnsentDoNotUseUpAttempts() async throws {
        let turnedAway = Mutex(0)
        let sink = TestSink { _ in
            turnedAway.withLock { n in
                n += 1
                return n <= 5 ? .notSent(after: .milliseconds(10), reason: "circuit open after 5 consecutive failures") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a", maxAttempts: 2)], sinks: ["a": sink]) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { sink.delivered.count == 1 })
            #expect(try await h.outbox.deadLetters(destination: "a", limit: 10).isEmpty)
            #expect(sink.attempts.map(\.item.attempt) == [1, 1, 1, 1, 1, 1])
        }
    }

    @Test func sinkVerdictDeadIsRecordedWithItsReason() async throws {
        let sink = TestSink { _ in .dead(reason: "HTTP 400: {\"error\":\"bad\"}") }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink]) { h in
            try await h.accept("x", to: ["a"])
            #expect(await eventually { (try? await h.outbox.deadLetters(destination: "a", limit: 10).first?.reason) == "HTTP 400: {\"error\":\"bad\"}" })
            #expect(sink.attempts.count == 1)
        }
    }

    /// 4 keys × 40 events; a third of all attempts fail. Each key's events arrive in acceptance order, each exactly once.
    @Test func perKeyOrderHoldsUnderFailures() async throws {
        let counter = Mutex(0)
        let sink = TestSink(maxBatchSize: 7, maxConcurrentBatches: 3) { _ in
            counter.withLock { n in
                n += 1
                return n % 3 == 0 ? .retry(after: nil, reason: "flaky") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a", initial: .milliseconds(1), max: .milliseconds(5))],
                                        sinks: ["a": sink], random: { Double.random(in: 0..<1) }) { h in
            var expected: [String: [String]] = [:]
            for i in 0..<160 {
                let key = "key\(i % 4)"
                try await h.accept("\(key)-\(i)", key: key, to: ["a"])
                expected[key, default: []].append("\(key)-\(i)")
            }
            #expect(await eventually(timeout: .seconds(20)) { sink.delivered.count == 160 })
            var seen: [String: [String]] = [:]
            for item in sink.delivered { seen[item.key ?? "", default: []].append(String(decoding: item.body, as: UTF8.self)) }
            #expect(seen == expected)
            #expect(sink.attempts.count > 160, "no failures were injected")
        }
    }

    /// A sink that keeps order within a batch gets a key's run in one batch, and order still holds under failures.
    @Test func perKeyRunsShareABatchWhenTheSinkKeepsOrder() async throws {
        let counter = Mutex(0)
        // Deliveries wait until every event is accepted, so the backlog is there to be batched by key.
        let gate = Gate()
        let sink = TestSink(maxBatchSize: 50, maxConcurrentBatches: 3, keepsSubmissionOrder: true) { _ in
            await gate.pass()
            return counter.withLock { n in
                n += 1
                // Rare enough that a run of 50 makes progress on every attempt (what fails drags its key's followers along).
                return n % 37 == 0 ? .retry(after: nil, reason: "flaky") : .delivered
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a", initial: .milliseconds(1), max: .milliseconds(5))],
                                        sinks: ["a": sink], random: { Double.random(in: 0..<1) }) { h in
            var expected: [String: [String]] = [:]
            for i in 0..<300 {
                let key = "key\(i % 3)"
                try await h.accept("\(key)-\(i)", key: key, to: ["a"])
                expected[key, default: []].append("\(key)-\(i)")
            }
            gate.open()
            #expect(await eventually { sink.delivered.count == 300 })
            var seen: [String: [String]] = [:]
            for item in sink.delivered { seen[item.key ?? "", default: []].append(String(decoding: item.body, as: UTF8.self)) }
            #expect(seen == expected)
            let largestRun = sink.batchesSeen.map { batch in Dictionary(grouping: batch, by: { $0.key ?? "" }).values.map(\.count).max() ?? 0 }.max() ?? 0
            #expect(largestRun > 1, "no batch carried more than one delivery of a key")
        }
    }

    /// For a sink that keeps submission order, a key's new delivery follows in a later batch while the
    /// earlier one is still in flight; otherwise it waits for it.
    @Test(arguments: [true, false]) func aKeysNextDeliveryFollowsWhileTheFirstIsInFlightOnlyWhenTheSinkKeepsOrder(ordered: Bool) async throws {
        let gate = Gate()
        let sink = TestSink(maxBatchSize: 10, maxConcurrentBatches: 3, keepsSubmissionOrder: ordered) { _ in
            await gate.pass()
            return .delivered
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink]) { h in
            try await h.accept("first", key: "k", to: ["a"])
            #expect(await eventually { sink.batchesSeen.count == 1 })
            try await h.accept("second", key: "k", to: ["a"])
            if ordered {
                #expect(await eventually { sink.batchesSeen.count == 2 })
            } else {
                try await Task.sleep(for: .milliseconds(300))
                #expect(sink.batchesSeen.count == 1)
            }
            gate.open()
            #expect(await eventually { sink.delivered.count == 2 })
            #expect(sink.delivered.map { String(decoding: $0.body, as: UTF8.self) } == ["first", "second"])
        }
    }

    /// With an ordered sink, a failed delivery keeps its back-off and its key's later deliveries wait for it,
    /// even those already listed as ready behind it.
    @Test func anOrderedSinksRetryKeepsItsBackoffAndItsKeyWaits() async throws {
        let failedOnce = Mutex(false)
        let sink = TestSink(maxBatchSize: 10, maxConcurrentBatches: 4, keepsSubmissionOrder: true) { item in
            let body = String(decoding: item.body, as: UTF8.self)
            return failedOnce.withLock { failed in
                guard body == "a", !failed else { return .delivered }
                failed = true
                return .retry(after: .milliseconds(300), reason: "HTTP 503")
            }
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": sink], random: { 0 }) { h in
            for label in ["a", "b", "c", "d"] { try await h.accept(label, key: "k", to: ["a"]) }
            #expect(await eventually { sink.delivered.count == 4 })
            #expect(sink.delivered.map { String(decoding: $0.body, as: UTF8.self) } == ["a", "b", "c", "d"])
            let attemptsOfA = sink.attempts.filter { String(decoding: $0.item.body, as: UTF8.self) == "a" }.map(\.at)
            #expect(attemptsOfA.count == 2)
            if attemptsOfA.count == 2 { #expect(attemptsOfA[1].timeIntervalSince(attemptsOfA[0]) >= 0.29) }
        }
    }

    /// One destination hangs; the other keeps receiving everything.
    @Test func aHangingDestinationDoesNotDelayAnother() async throws {
        let gate = Gate()
        let hanging = TestSink { _ in
            await gate.pass()
            return .delivered
        }
        let healthy = TestSink()
        try await DispatcherHarness.run(destinations: [destination("slow"), destination("fast")],
                                        sinks: ["slow": hanging, "fast": healthy]) { h in
            for i in 0..<200 { try await h.accept("e\(i)", to: ["slow", "fast"]) }
            #expect(await eventually(timeout: .seconds(5)) { healthy.delivered.count == 200 })
            #expect(hanging.delivered.isEmpty)
            let stats = try await h.outbox.stats(now: Date())
            #expect(stats.first { $0.destination == "slow" }?.pending == 200)
            // Let the hung sink finish so shutdown can drain.
            gate.open()
        }
    }

    /// Deliveries in flight when the relay stops are still pending on disk and go out after a restart.
    @Test func inFlightDeliveriesReturnToPendingAfterRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let gate = Gate()
        let stuck = TestSink { _ in
            await gate.pass()
            return .retry(after: nil, reason: "process stopped")
        }
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": stuck], directory: directory) { h in
            for i in 0..<5 { try await h.accept("e\(i)", to: ["a"]) }
            #expect(await eventually { gate.waiting > 0 })
            gate.open()
        }
        let fresh = TestSink()
        try await DispatcherHarness.run(destinations: [destination("a")], sinks: ["a": fresh], directory: directory) { h in
            h.dispatcher.wakeAll()
            #expect(await eventually { fresh.delivered.count == 5 })
        }
    }
}
