import Foundation
internal import RingArithmetic

/// A deterministic in-memory network of `partyCount` parties, for tests and benchmarks.
///
/// Each ordered pair (sender, receiver) has a FIFO mailbox; `receive` blocks until a message is
/// there. Messages are passed by reference (no serialization), but every byte is counted as if it
/// were sent on a wire. Given the parties' programs and randomness, every message — and so every
/// transcript and every output — is the same in every run, whatever the thread scheduling.
///
/// `run(partyCount:_:)` starts one thread per party; each party sees only its own channel
/// endpoint, so parties share no state except through messages. If a party throws, the network is
/// closed and parties blocked in `receive` fail with `channelClosed`.
public final class InMemoryNetwork: @unchecked Sendable {
    /// The number of parties.
    public let partyCount: Int
    private let mailboxes: [Mailbox]
    private let endpoints: [InMemoryChannel]

    /// A network of `partyCount ≥ 2` parties.
    public init(partyCount: Int) {
        precondition(partyCount >= 2, "an MPC network needs at least two parties")
        self.partyCount = partyCount
        mailboxes = (0..<(partyCount * partyCount)).map { _ in Mailbox() }
        var eps: [InMemoryChannel] = []
        for p in 0..<partyCount {
            eps.append(InMemoryChannel(party: p, partyCount: partyCount, mailboxes: mailboxes))
        }
        endpoints = eps
    }

    /// The endpoint of `party`.
    public func channel(for party: Int) -> InMemoryChannel { endpoints[party] }

    /// Closes every mailbox: blocked and later receives throw `channelClosed`.
    public func close() {
        for m in mailboxes { m.close() }
    }

    /// Runs `body` once per party, each on its own thread with its own channel endpoint, and
    /// returns the parties' results in party order. Rethrows the first failure (a party's own
    /// error rather than a peer's `channelClosed`).
    public static func run<T: Sendable>(
        partyCount: Int,
        _ body: @escaping @Sendable (InMemoryChannel) throws -> T
    ) throws -> [T] {
        guard partyCount >= 2 else {
            throw SecretSharingError.invalidArgument("an MPC network needs at least two parties, got \(partyCount)")
        }
        let network = InMemoryNetwork(partyCount: partyCount)
        return try runPartyThreads(
            channels: (0..<partyCount).map { network.channel(for: $0) }, close: { network.close() }, body)
    }
}

/// Runs `body` on one thread per channel and returns the results in party order; on a failure,
/// calls `close` so that blocked peers fail too, and rethrows the first party's own error.
func runPartyThreads<C: Channel & SendableMetatype, T: Sendable>(
    channels: [C], close: @escaping @Sendable () -> Void,
    _ body: @escaping @Sendable (C) throws -> T
) throws -> [T] {
    let results = ResultBox<T>(count: channels.count)
    let done = DispatchGroup()
    var threads: [Thread] = []
    for (p, channel) in channels.enumerated() {
        done.enter()
        let box = UncheckedBox(channel)
        let thread = Thread {
            // Party p on the p-th allowed processor (mod their number). Left to the scheduler,
            // two polling party threads (`BusyWait`) can share one core — each poll's yield hands
            // it to the other, and the load balancer does not move cache-hot threads — and then
            // run one at a time while another core idles (a 2-party matmul measured 0.7 ms instead
            // of 0.4). Separate processes or machines do not have this problem.
            ThreadPlacement.pinCurrentThread(index: p)
            do {
                results.set(p, .success(try body(box.value)))
            } catch {
                results.set(p, .failure(error))
                close()
            }
            done.leave()
        }
        thread.stackSize = 8 << 20
        threads.append(thread)
    }
    for t in threads { t.start() }
    done.wait()
    close()
    return try results.collect()
}

/// Hands a channel to the thread that alone will use it.
private struct UncheckedBox<V>: @unchecked Sendable {
    let value: V
    init(_ value: V) { self.value = value }
}

/// One party's endpoint of an `InMemoryNetwork`.
public final class InMemoryChannel: Channel, @unchecked Sendable {
    public let partyIndex: Int
    public let partyCount: Int
    public private(set) var statistics = CommunicationStatistics()
    private let mailboxes: [Mailbox]
    private var receiving = false

    fileprivate init(party: Int, partyCount: Int, mailboxes: [Mailbox]) {
        self.partyIndex = party
        self.partyCount = partyCount
        self.mailboxes = mailboxes
    }

    public func send(_ words: [UInt64], to party: Int) throws(SecretSharingError) {
        guard party != partyIndex && (0..<partyCount).contains(party) else {
            throw .invalidArgument("party \(partyIndex) cannot send to \(party)")
        }
        receiving = false
        statistics.bytesSent += 8 * words.count
        statistics.messagesSent += 1
        try mailboxes[partyIndex * partyCount + party].put(words)
    }

    public func receive(from party: Int) throws(SecretSharingError) -> [UInt64] {
        guard party != partyIndex && (0..<partyCount).contains(party) else {
            throw .invalidArgument("party \(partyIndex) cannot receive from \(party)")
        }
        if !receiving {
            receiving = true
            statistics.rounds += 1
        }
        return try mailboxes[party * partyCount + partyIndex].take()
    }
}

/// A FIFO of messages guarded by a condition variable.
fileprivate final class Mailbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [[UInt64]] = []
    private var head = 0
    private var closed = false

    func put(_ message: [UInt64]) throws(SecretSharingError) {
        condition.lock()
        defer { condition.unlock() }
        if closed { throw .channelClosed }
        queue.append(message)
        condition.signal()
    }

    func take() throws(SecretSharingError) -> [UInt64] {
        // Poll before sleeping (see `BusyWait`): a peer's reply usually arrives within
        // microseconds, and a futex wake-up costs tens of them or more.
        _ = BusyWait.poll {
            condition.lock()
            defer { condition.unlock() }
            return head < queue.count || closed
        }
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count {
            if closed { throw .channelClosed }
            condition.wait()
        }
        let m = queue[head]
        queue[head] = []
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        return m
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Per-party results of `InMemoryNetwork.run`.
private final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<T, any Error>) {
        lock.lock(); slots[i] = r; lock.unlock()
    }

    func collect() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        var firstPeerClosed: (any Error)?
        for case let .failure(e)? in slots {
            if let s = e as? SecretSharingError, s == .channelClosed {
                firstPeerClosed = firstPeerClosed ?? e
            } else {
                throw e
            }
        }
        if let e = firstPeerClosed { throw e }
        return slots.map { try! $0!.get() }
    }
}
