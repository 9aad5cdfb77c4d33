// Tests of PoolPacer: a long loop gives its thread up once every `every` steps, and only then.
import RelayCore
import Synchronization
import Testing

@Suite struct PoolPacerTests {
    @Test func aBatchOfFiveThousandStepsYieldsOnceEveryStepsAndNotInBetween() async {
        let yields = Atomic<Int>(0)
        var pacer = PoolPacer(every: 256, yield: { yields.add(1, ordering: .relaxed) })
        var seenAtYield: [Int] = []
        for index in 1...5_000 {
            let before = yields.load(ordering: .relaxed)
            await pacer.step()
            if yields.load(ordering: .relaxed) != before { seenAtYield.append(index) }
        }
        #expect(yields.load(ordering: .relaxed) == 5_000 / 256)
        #expect(seenAtYield == (1...(5_000 / 256)).map { $0 * 256 })
    }

    @Test func aShortLoopNeverYields() async {
        let yields = Atomic<Int>(0)
        var pacer = PoolPacer(every: 256, yield: { yields.add(1, ordering: .relaxed) })
        for _ in 0..<255 { await pacer.step() }
        #expect(yields.load(ordering: .relaxed) == 0)
    }

    @Test func everyBelowOneMeansEveryStep() async {
        let yields = Atomic<Int>(0)
        var pacer = PoolPacer(every: 0, yield: { yields.add(1, ordering: .relaxed) })
        for _ in 0..<3 { await pacer.step() }
        #expect(yields.load(ordering: .relaxed) == 3)
    }
}
