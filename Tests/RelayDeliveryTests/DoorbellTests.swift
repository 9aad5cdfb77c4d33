// The worker loop's wake-up: rings are kept, timeouts end a wait, and so does cancellation.
import RelayCore
import RelayDelivery
import Testing

@Suite struct DoorbellTests {
    @Test func aRingBeforeTheWaitIsKept() async {
        let bell = Doorbell()
        bell.ring()
        let start = ContinuousClock.now
        await bell.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func theTimeoutEndsAWait() async {
        let bell = Doorbell()
        let start = ContinuousClock.now
        await bell.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(45))
    }

    @Test func aRingWakesAWaiter() async {
        let bell = Doorbell()
        let start = ContinuousClock.now
        async let waited: Void = bell.wait(timeout: .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        bell.ring()
        await waited
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// A stopping worker's task is cancelled: its wait must end even though nobody rings.
    @Test func cancellingTheWaitingTaskEndsTheWait() async {
        let bell = Doorbell()
        let start = ContinuousClock.now
        let waiter = Task { await bell.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// Rings between waits are not lost, however the previous wait ended.
    @Test func noRingIsLostAcrossManyWaits() async {
        let bell = Doorbell()
        for round in 0..<200 {
            if round % 2 == 0 { bell.ring() }
            await bell.wait(timeout: round % 2 == 0 ? .seconds(30) : .milliseconds(1))
        }
        bell.ring()
        let start = ContinuousClock.now
        await bell.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
