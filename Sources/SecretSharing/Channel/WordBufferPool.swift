/// A small free list of large word buffers, so that the transient buffers of a protocol round
/// (masked openings, received messages, the dealer's correlation components) are reused instead
/// of being allocated — and their pages faulted in and zeroed by the kernel — anew at every
/// operation. (With the C allocator's default trimming, every such buffer of a round otherwise
/// comes back as fresh pages: about a tenth of a 100×100 matmul's time before this pool.)
///
/// Reuse is safe whatever the caller still holds: arrays are copy-on-write, so a recycled buffer
/// still referenced elsewhere is copied, not overwritten, when it is next written.
/// Not thread-safe: each pool belongs to one party (or is used under its owner's lock).
final class WordBufferPool: @unchecked Sendable {
    /// Buffers smaller than this are left to the allocator (its free lists serve them well).
    static let minimumWords = 2048
    private var free: [[UInt64]] = []
    private let limit: Int

    init(limit: Int = 24) { self.limit = limit }

    /// A buffer of exactly `count` words with unspecified contents (zero when new).
    func take(_ count: Int) -> [UInt64] {
        if count >= Self.minimumWords, let i = free.lastIndex(where: { $0.count == count }) {
            free.swapAt(i, free.count - 1)
            return free.removeLast()
        }
        return [UInt64](repeating: 0, count: count)
    }

    /// Keeps `buffer` for a later `take` of the same size.
    func recycle(_ buffer: consuming [UInt64]) {
        guard buffer.count >= Self.minimumWords else { return }
        if free.count == limit { free.removeFirst() }
        free.append(buffer)
    }
}
