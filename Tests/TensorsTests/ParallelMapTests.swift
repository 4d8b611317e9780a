import Tensors
import Testing
import TestSupport

@Suite("The one parallel map")
struct ParallelMapTests {
    struct Failure: Error, Equatable { let index: Int }


    @Test("map returns results in index order, never runs more than `concurrency` bodies at once, and runs BLAS on one thread")
    func structured() async throws {
        let running = Locked((now: 0, most: 0))
        BLAS.threadCount = 2
        let results = try await ParallelMap.map(count: 40, concurrency: 3) { k in
            running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            let threads = BLAS.threadCount
            await Task.yield()
            running.withLock { $0.now -= 1 }
            return (k * k, threads)
        }
        #expect(results.map(\.0) == (0..<40).map { $0 * $0 })
        #expect(results.allSatisfy { $0.1 == 1 })
        #expect(running.withLock { $0.most } <= 3)
    }

    @Test("concurrentMap returns results in index order and rethrows the error of the lowest failing index")
    func dispatch() throws {
        #expect(ParallelMap.concurrentMap(count: 25, concurrency: 4) { $0 + 1 } == Array(1...25))
        #expect(ParallelMap.concurrentMap(count: 0, concurrency: 4) { $0 }.isEmpty)
        #expect(throws: Failure(index: 7)) {
            try ParallelMap.concurrentMap(count: 25, concurrency: 4) { (i: Int) throws(Failure) -> Int in
                if i == 7 || i == 19 { throw Failure(index: i) }
                return i
            }
        }
    }
}
