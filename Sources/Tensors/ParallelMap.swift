#if canImport(Dispatch)
import Dispatch
#endif

/// PrivacyLab's one parallel map, and the owner of its BLAS thread policy.
///
/// Independent work (reference and shadow models, federated clients, secure-aggregation
/// participants, Paillier encryptions) runs through `map` (structured concurrency) or
/// `concurrentMap` (Dispatch threads, for synchronous callers). Both return results in index
/// order, so a result never depends on which worker finished first.
///
/// - BLAS policy: a worker of a map that may run more than one worker at once sets OpenBLAS to one
///   thread (`BLAS.threadCount = 1`, a process-wide setting it leaves in place), so that workers
///   do not oversubscribe the cores and every matrix product is computed the same way whatever the
///   concurrency. Library code below the experiment layer changes BLAS's thread count only here.
public enum ParallelMap {
    /// `body(0..<count)` run with at most `concurrency` calls at once (structured concurrency), the
    /// results in index order; the first error thrown cancels the rest and is rethrown.
    /// - Precondition: `concurrency ≥ 1`.
    public static func map<Result: Sendable>(
        count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Result
    ) async throws -> [Result] {
        precondition(concurrency >= 1, "ParallelMap: concurrency must be at least 1, got \(concurrency)")
        var results = [Result?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var next = 0
            func launch() {
                let index = next
                next += 1
                group.addTask {
                    singleThreadedBLAS()
                    return (index, try await body(index))
                }
            }
            while next < Swift.min(count, concurrency) { launch() }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < count { launch() }
            }
        }
        return results.map { $0! }
    }

    /// `body(0..<count)` on at most `concurrency` Dispatch threads (worker w takes indices w,
    /// w + workers, …), blocking until all are done; results in index order, and the error of the
    /// lowest failing index rethrown.
    /// - Precondition: `concurrency ≥ 1`.
    public static func concurrentMap<Result: Sendable, Failure: Error>(
        count: Int, concurrency: Int, _ body: @Sendable (Int) throws(Failure) -> Result
    ) throws(Failure) -> [Result] {
        precondition(concurrency >= 1, "ParallelMap: concurrency must be at least 1, got \(concurrency)")
        guard count > 0 else { return [] }
        let slots = UnsafeMutablePointer<Swift.Result<Result, Failure>?>.allocate(capacity: count)
        slots.initialize(repeating: nil, count: count)
        defer { slots.deinitialize(count: count); slots.deallocate() }
        nonisolated(unsafe) let shared = slots
        let workers = Swift.max(1, Swift.min(concurrency, count))
        #if canImport(Dispatch)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            if workers > 1 { singleThreadedBLAS() }
            var i = w
            while i < count {
                shared[i] = Swift.Result { () throws(Failure) -> Result in try body(i) }
                i += workers
            }
        }
        #else
        for i in 0..<count { shared[i] = Swift.Result { () throws(Failure) -> Result in try body(i) } }
        #endif
        var results: [Result] = []
        results.reserveCapacity(count)
        for i in 0..<count { results.append(try slots[i]!.get()) }
        return results
    }

    /// Sets OpenBLAS to one thread unless it already runs one.
    static func singleThreadedBLAS() {
        if BLAS.threadCount != 1 { BLAS.threadCount = 1 }
    }
}
