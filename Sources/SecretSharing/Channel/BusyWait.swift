#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Busy-waiting before blocking, for the waits of a party thread: a peer's message, or the
/// dealer's lock while another party's request is being generated.
///
/// A party waits on the order of microseconds to a few hundred of them. Blocking (a futex wait)
/// costs a wake-up on every such wait, and a wake-up of a thread whose processor went idle costs
/// tens to hundreds of microseconds on a virtual machine (the idle vCPU halts) — more than most
/// rounds. So a waiter polls, yielding the processor between polls so that other runnable
/// threads still progress, and blocks only after `budget`.
enum BusyWait {
    /// How long a waiter polls before it blocks.
    static let budget: Duration = .milliseconds(2)

    /// Polls `ready` (yielding between polls) until it returns true or `budget` has passed;
    /// returns whether it became true.
    @inline(__always)
    static func poll(_ ready: () -> Bool) -> Bool {
        if ready() { return true }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: budget)
        var polls = 0
        while true {
            if ready() { return true }
            polls += 1
            if polls % 8 == 0 {
                if clock.now >= deadline { return false }
                sched_yield()
            }
        }
    }
}

extension NSLock {
    /// Takes the lock, polling `try()` for up to `BusyWait.budget` before blocking.
    func lockPolling() {
        if !BusyWait.poll({ self.try() }) { lock() }
    }
}
