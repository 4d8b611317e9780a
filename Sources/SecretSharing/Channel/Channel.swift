/// What one party has sent so far: rounds and bytes.
///
/// A *round* is one wait for messages: a maximal run of receives. A party that sends to every
/// peer and then receives from every peer has spent one round, however many peers there are;
/// messages a party only sends (an input owner's shares) cost it no round, and cost each receiver
/// one. For a symmetric protocol every party counts the same rounds: its round complexity.
public struct CommunicationStatistics: Sendable, Equatable {
    /// Rounds: maximal runs of receives at this party.
    public var rounds: Int = 0
    /// Payload bytes this party has sent.
    public var bytesSent: Int = 0
    /// Messages this party has sent.
    public var messagesSent: Int = 0

    public init(rounds: Int = 0, bytesSent: Int = 0, messagesSent: Int = 0) {
        self.rounds = rounds
        self.bytesSent = bytesSent
        self.messagesSent = messagesSent
    }

    /// The difference `self - earlier`.
    public func since(_ earlier: CommunicationStatistics) -> CommunicationStatistics {
        CommunicationStatistics(
            rounds: rounds - earlier.rounds, bytesSent: bytesSent - earlier.bytesSent,
            messagesSent: messagesSent - earlier.messagesSent)
    }
}

/// One party's endpoint of the network: the only way parties exchange information.
///
/// Messages are vectors of 64-bit words (ring elements or packed bits), delivered in order per
/// (sender, receiver) pair. Implementations count rounds and bytes as described in
/// `CommunicationStatistics`; `InMemoryNetwork` is the deterministic in-memory implementation for
/// tests and benchmarks, and a socket-backed channel can conform without changing any protocol.
public protocol Channel: AnyObject {
    /// This party's index, `0..<partyCount`.
    var partyIndex: Int { get }
    /// The number of parties.
    var partyCount: Int { get }
    /// What this endpoint has sent so far.
    var statistics: CommunicationStatistics { get }
    /// Sends `words` to `party` (never to oneself).
    func send(_ words: [UInt64], to party: Int) throws(SecretSharingError)
    /// Receives the next message from `party`, blocking until it arrives.
    func receive(from party: Int) throws(SecretSharingError) -> [UInt64]
    /// Hands back a buffer this party no longer needs (a received message, a sent one), which
    /// the channel may reuse for a later message of the same size. Optional: the default keeps
    /// nothing.
    func recycle(_ words: consuming [UInt64])
    /// A buffer of `count` words with unspecified contents, possibly one handed back through
    /// `recycle` (for the messages a party builds). The default allocates a zeroed one.
    func buffer(count: Int) -> [UInt64]
}

extension Channel {
    public func recycle(_ words: consuming [UInt64]) {}
    public func buffer(count: Int) -> [UInt64] { [UInt64](repeating: 0, count: count) }
}

extension Channel {
    /// Sends `words` to every other party, then receives one message of `words.count` words from
    /// each: one round, `(partyCount - 1) · 8 · words.count` bytes sent.
    /// Returns the messages indexed by sender (this party's own slot holds `words`).
    public func broadcastExchange(_ words: [UInt64]) throws(SecretSharingError) -> [[UInt64]] {
        for p in 0..<partyCount where p != partyIndex { try send(words, to: p) }
        var received = [[UInt64]](repeating: [], count: partyCount)
        for p in 0..<partyCount {
            if p == partyIndex { received[p] = words; continue }
            let message = try receive(from: p)
            guard message.count == words.count else {
                throw .malformedMessage(from: p, expected: words.count, received: message.count)
            }
            received[p] = message
        }
        return received
    }

    /// Opens additive shares over Z(2^64): every party learns `Σ_p share_p`. One round.
    public func openAdditive(_ share: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        try sendOpening(share)
        return try receiveOpening(share)
    }

    /// The first half of `openAdditive`: sends `share` to every other party. A party may work
    /// (on what does not depend on the opening) before `receiveOpening`.
    public func sendOpening(_ share: [UInt64]) throws(SecretSharingError) {
        for p in 0..<partyCount where p != partyIndex { try send(share, to: p) }
    }

    /// The second half of `openAdditive`: receives the other parties' shares and returns the sum.
    public func receiveOpening(_ share: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        // The sum accumulates in the first message received (a buffer this party owns when the
        // transport hands over fresh memory), which saves allocating and faulting in another.
        var sum: [UInt64] = []
        for p in 0..<partyCount where p != partyIndex {
            let message = try receive(from: p)
            guard message.count == share.count else {
                throw .malformedMessage(from: p, expected: share.count, received: message.count)
            }
            if sum.isEmpty && !message.isEmpty {
                sum = message
                Ring.addInPlace(&sum, share)
            } else if !message.isEmpty {
                Ring.addInPlace(&sum, message)
            }
        }
        return share.isEmpty ? [] : sum
    }

    /// Opens XOR shares: every party learns `⊕_p share_p`. One round.
    public func openXOR(_ share: [UInt64]) throws(SecretSharingError) -> [UInt64] {
        for p in 0..<partyCount where p != partyIndex { try send(share, to: p) }
        // As in `openAdditive`, the result accumulates in the first message received.
        var acc: [UInt64] = []
        for p in 0..<partyCount where p != partyIndex {
            let message = try receive(from: p)
            guard message.count == share.count else {
                throw .malformedMessage(from: p, expected: share.count, received: message.count)
            }
            let first = acc.isEmpty
            if first { acc = message }
            acc.withUnsafeMutableBufferPointer { a in
                (first ? share : message).withUnsafeBufferPointer { b in
                    for i in 0..<a.count { a[i] ^= b[i] }
                }
            }
        }
        return share.isEmpty ? [] : acc
    }
}
