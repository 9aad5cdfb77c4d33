// Tests of PoolPacer: a long loop runs in slices, giving its thread up between two slices and only then.
import RelayCore
import Synchronization
import Testing

@Suite struct PoolPacerTests {
    @Test func fiveThousandItemsRunInOrderInSlicesOf256WithAYieldBetweenTwo() async {
        let yields = Atomic<Int>(0)
        var seen: [Int] = []
        var yieldsBeforeSlice: [Int] = []
        await PoolPacer.slices(of: 5_000, every: 256, yield: { yields.add(1, ordering: .relaxed) }) { range in
            yieldsBeforeSlice.append(yields.load(ordering: .relaxed))
            #expect(range.count <= 256)
            seen.append(contentsOf: range)
        }
        #expect(seen == Array(0..<5_000))
        #expect(yieldsBeforeSlice == Array(0..<20))  // 19 full slices and the rest: 19 yields, none before the first
        #expect(yields.load(ordering: .relaxed) == 19)
    }

    @Test func aShortLoopNeverYields() async {
        let yields = Atomic<Int>(0)
        var slices = 0
        await PoolPacer.slices(of: 256, every: 256, yield: { yields.add(1, ordering: .relaxed) }) { _ in slices += 1 }
        await PoolPacer.slices(of: 0, yield: { yields.add(1, ordering: .relaxed) }) { _ in slices += 1 }
        #expect(slices == 1)
        #expect(yields.load(ordering: .relaxed) == 0)
    }

    @Test func everyBelowOneMeansOneItemPerSlice() async {
        let yields = Atomic<Int>(0)
        var ranges: [Range<Int>] = []
        await PoolPacer.slices(of: 3, every: 0, yield: { yields.add(1, ordering: .relaxed) }) { ranges.append($0) }
        #expect(ranges == [0..<1, 1..<2, 2..<3])
        #expect(yields.load(ordering: .relaxed) == 2)
    }
}
