// Tests of TurnSequencer: batches handed over in the order their turns were taken.
import Foundation
import RelayCore
@testable import RelayDelivery
import RelayOutbox
import Synchronization
import Testing

@Suite struct TurnSequencerTests {
    /// Work that finishes preparing out of order is still handed over in the order the turns were taken.
    @Test func turnsGoInTheOrderTheyWereTaken() async {
        let sequencer = TurnSequencer()
        let turns = (0..<8).map { _ in sequencer.take() }
        let order = HandOverLog()
        await withTaskGroup(of: Void.self) { group in
            for turn in turns.reversed() {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int(turns.count - Int(turn)) * 5))
                    await sequencer.wait(for: turn)
                    order.turns.withLock { $0.append(turn) }
                    sequencer.finish(turn)
                }
            }
        }
        #expect(order.turns.withLock { $0 } == turns)
    }

    private final class HandOverLog: Sendable {
        let turns = Mutex<[UInt64]>([])
    }
}
