internal import CKernels

/// Placement of the MPC engine's party threads on processors.
public enum ThreadPlacement {
    /// Pins the calling thread to the `(index mod n)`-th of the `n` processors the process may
    /// run on, and returns that processor; `nil` (and no change) when fewer than two processors
    /// are allowed or the platform refuses.
    @discardableResult
    public static func pinCurrentThread(index: Int) -> Int? {
        let cpu = pl_pin_current_thread(Int32(truncatingIfNeeded: index))
        return cpu >= 0 ? Int(cpu) : nil
    }
}
