// Batches run by the worker thread against a real loopback server: every item answered once, requests
// built in turn, skipped items, the slot window and its share, invalid requests, cancellation and shutdown.

import Foundation
@testable import RelayCurl
import RelayTestSupport
import Synchronization
import Testing

/// A counting slot pool and a record of what the batch handlers saw (the handlers run on the worker thread).
private final class BatchProbe: Sendable {
    struct State {
        var free: Int
        /// Another batch shares the slots once the first result is in.
        var waitAfterFirstResult = false
        /// Another batch shares the slots from the start.
        var alwaysWanted = false
        var requested: [Int] = []
        var results: [Int: Result<HTTPResult, CurlError>] = [:]
        var released = 0
    }

    let state: Mutex<State>

    init(free: Int) {
        state = Mutex(State(free: free))
    }

    func handlers(_ request: @escaping @Sendable (Int) -> HTTPRequestSpec?) -> CurlBatchHandlers {
        CurlBatchHandlers(
            request: { [self] index in
                state.withLock { $0.requested.append(index) }
                return request(index)
            },
            completed: { [self] index, result in
                state.withLock { state in
                    precondition(state.results[index] == nil, "item \(index) completed twice")
                    state.results[index] = result
                }
            },
            tryAcquireSlot: { [self] in
                state.withLock { state in
                    guard state.free > 0 else { return false }
                    state.free -= 1
                    return true
                }
            },
            releaseSlot: { [self] in state.withLock { $0.free += 1; $0.released += 1 } },
            slotWanted: { [self] in state.withLock { $0.waiting } }
        )
    }

    var snapshot: State { state.withLock { $0 } }
}

extension BatchProbe.State {
    var waiting: Bool { alwaysWanted || (waitAfterFirstResult && !results.isEmpty) }
}

@Suite(.timeLimit(.minutes(1)))
struct CurlBatchTests {
    @Test func everyItemIsSentOnceInTurnAndAnsweredWithItsOwnResult() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": .text(204)])
        defer { server.stop() }
        let client = makeClient(CurlClientConfiguration(workerThreads: 2))
        defer { client.shutdown() }
        let probe = BatchProbe(free: 3)
        let url = server.url("/item")
        await client.executeBatch(count: 40, holding: 1, window: 4, share: 4, maxBodyBytes: 100, handlers: probe.handlers { index in
            HTTPRequestSpec(method: "POST", url: url + "/\(index)", headers: [("x-index", "\(index)")], body: Array("{\"n\":\(index)}".utf8))
        })
        let state = probe.snapshot
        #expect(state.requested == Array(0..<40))
        #expect(state.results.count == 40)
        for index in 0..<40 {
            let result = try #require(try state.results[index]?.get())
            #expect(result.head.status == 204)
            #expect(result.effectiveURL == url + "/\(index)")
        }
        // Every slot taken on top of the one given is back, and the given one too.
        #expect(state.free == 4)
        let requests = try await server.requests()
        #expect(Set(requests.map(\.path)) == Set((0..<40).map { "/item/\($0)" }))
        #expect(requests.allSatisfy { $0.header("x-index").map { "/item/\($0)" } == $0.path && $0.bodyText.hasPrefix("{\"n\":") })
        // Keep-alive: four slots at most, so at most four connections.
        #expect(try await server.stats().connections <= 4)
    }

    @Test func theWindowCapsWhatIsInFlightAndSkippedItemsNeedNoSlot() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": UpstreamResponse.text(200, "ok").delayed(.milliseconds(100))])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let probe = BatchProbe(free: 10)
        let url = server.url("/slow")
        await client.executeBatch(count: 12, holding: 1, window: 3, share: 3, handlers: probe.handlers { index in
            index % 4 == 3 ? nil : HTTPRequestSpec(url: url)
        })
        let state = probe.snapshot
        #expect(state.requested == Array(0..<12))
        #expect(Set(state.results.keys) == Set((0..<12).filter { $0 % 4 != 3 }))
        #expect(state.free == 11)
        let stats = try await server.stats()
        #expect(stats.maxInFlight <= 3)
        #expect(stats.maxInFlight >= 2)
    }

    @Test func aBatchGivesSlotsBeyondItsShareToAWaitingBatch() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": UpstreamResponse.text(204).delayed(.milliseconds(50))])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let probe = BatchProbe(free: 3)
        probe.state.withLock { $0.waitAfterFirstResult = true }
        let url = server.url("/share")
        await client.executeBatch(count: 8, holding: 1, window: 4, share: 2, handlers: probe.handlers { _ in HTTPRequestSpec(url: url) })
        let state = probe.snapshot
        #expect(state.results.count == 8)
        #expect(state.free == 4)
        // It grew to its window of 4, then gave back down to its share of 2 while someone waited.
        #expect(try await server.stats().maxInFlight == 4)
        #expect(state.released == 4)
    }

    @Test func whileAnotherBatchSharesTheSlotsABatchTakesNoneBeyondItsShare() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": UpstreamResponse.text(204).delayed(.milliseconds(50))])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let probe = BatchProbe(free: 5)
        probe.state.withLock { $0.alwaysWanted = true }
        let url = server.url("/shared")
        // Slots are free all along: the batch itself stops at its share.
        await client.executeBatch(count: 8, holding: 1, window: 6, share: 2, handlers: probe.handlers { _ in HTTPRequestSpec(url: url) })
        #expect(probe.snapshot.results.count == 8)
        #expect(try await server.stats().maxInFlight == 2)
    }

    @Test func anInvalidRequestFailsOnlyItsItem() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": .text(200)])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let probe = BatchProbe(free: 0)
        let url = server.url("/mixed")
        await client.executeBatch(count: 3, holding: 1, window: 1, share: 1, handlers: probe.handlers { index in
            HTTPRequestSpec(url: url, headers: index == 1 ? [("x-bad", "a\r\nb")] : [])
        })
        let state = probe.snapshot
        #expect(try state.results[0]?.get().head.status == 200)
        #expect(try state.results[2]?.get().head.status == 200)
        guard case .failure(let error) = state.results[1] else {
            Issue.record("item 1 should have failed")
            return
        }
        #expect(error.kind == .other)
        #expect(error.message.contains("CR, LF or NUL"))
        #expect(try await server.requests().count == 2)
    }

    @Test func cancellingAbortsWhatIsInFlightAndStartsNothingMore() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": .hang])
        defer { server.stop() }
        let client = makeClient()
        defer { client.shutdown() }
        let probe = BatchProbe(free: 1)
        let url = server.url("/hang")
        let task = Task {
            await client.executeBatch(count: 6, holding: 1, window: 2, share: 2, handlers: probe.handlers { _ in
                HTTPRequestSpec(url: url, totalTimeout: .seconds(50))
            })
        }
        #expect(try await server.waitForRequests(count: 2))
        task.cancel()
        await task.value
        let state = probe.snapshot
        #expect(state.requested == [0, 1])
        #expect(state.results.count == 2)
        #expect(state.results.values.allSatisfy { if case .failure(let error) = $0 { error.kind == .cancelled } else { false } })
        #expect(state.free == 2)
    }

    @Test func shuttingDownEndsABatchAndRefusesLaterOnes() async throws {
        let server = try await UpstreamServer.start(scripts: ["*": .hang])
        defer { server.stop() }
        let client = makeClient()
        let probe = BatchProbe(free: 0)
        let url = server.url("/hang")
        let task = Task {
            await client.executeBatch(count: 3, holding: 1, window: 1, share: 1, handlers: probe.handlers { _ in
                HTTPRequestSpec(url: url, totalTimeout: .seconds(50))
            })
        }
        #expect(try await server.waitForRequests(count: 1))
        client.shutdown()
        await task.value
        let state = probe.snapshot
        #expect(state.results.count == 1)
        #expect(state.results.values.allSatisfy { if case .failure(let error) = $0 { error.kind == .shutdown } else { false } })
        #expect(state.free == 1)

        let later = BatchProbe(free: 0)
        await client.executeBatch(count: 2, holding: 1, window: 1, share: 1, handlers: later.handlers { _ in HTTPRequestSpec(url: url) })
        #expect(later.snapshot.requested.isEmpty)
        #expect(later.snapshot.free == 1)
    }
}
