#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A network of parties connected pairwise by Unix-domain stream sockets: every message crosses
/// the kernel as bytes, as it would between processes on one machine (CrypTen's gloo transport
/// uses TCP over loopback). Used by the benchmarks to price real communication; the protocols
/// are the same as over `InMemoryNetwork`.
///
/// Framing: an 8-byte little-endian word count, then the words. Each outgoing connection has a
/// writer thread, so a party that sends a large message never blocks on a peer that is itself
/// still sending (no deadlock whatever the message sizes).
public final class SocketNetwork: @unchecked Sendable {
    /// The number of parties.
    public let partyCount: Int
    private let endpoints: [SocketChannel]

    /// `partyCount ≥ 2` parties, one socket pair per pair of parties.
    public init(partyCount: Int) throws(SecretSharingError) {
        precondition(partyCount >= 2, "an MPC network needs at least two parties")
        self.partyCount = partyCount
        var fds = [[Int32]](repeating: [Int32](repeating: -1, count: partyCount), count: partyCount)
        for i in 0..<partyCount {
            for j in (i + 1)..<partyCount {
                var pair: [Int32] = [0, 0]
                #if canImport(Glibc)
                let kind = Int32(SOCK_STREAM.rawValue)
                #else
                let kind = SOCK_STREAM
                #endif
                guard socketpair(AF_UNIX, kind, 0, &pair) == 0 else {
                    throw .invalidArgument("socketpair failed: errno \(errno)")
                }
                fds[i][j] = pair[0]
                fds[j][i] = pair[1]
            }
        }
        endpoints = (0..<partyCount).map { SocketChannel(party: $0, partyCount: partyCount, sockets: fds[$0]) }
    }

    /// The endpoint of `party`.
    public func channel(for party: Int) -> SocketChannel { endpoints[party] }

    /// Shuts every socket down: blocked receives fail with `channelClosed`.
    public func close() {
        for e in endpoints { e.shutdownAll() }
    }

    deinit {
        for e in endpoints { e.closeAll() }
    }

    /// Runs `body` once per party, each on its own thread with its own endpoint (as
    /// `InMemoryNetwork.run`).
    public static func run<T: Sendable>(
        partyCount: Int, _ body: @escaping @Sendable (SocketChannel) throws -> T
    ) throws -> [T] {
        let network = try SocketNetwork(partyCount: partyCount)
        return try runPartyThreads(
            channels: (0..<partyCount).map { network.channel(for: $0) }, close: { network.close() }, body)
    }
}

/// One party's endpoint of a `SocketNetwork`.
public final class SocketChannel: Channel, @unchecked Sendable {
    public let partyIndex: Int
    public let partyCount: Int
    public private(set) var statistics = CommunicationStatistics()
    private let sockets: [Int32]
    private let writers: [Writer?]
    private var receiving = false

    fileprivate init(party: Int, partyCount: Int, sockets: [Int32]) {
        self.partyIndex = party
        self.partyCount = partyCount
        self.sockets = sockets
        self.writers = sockets.map { $0 >= 0 ? Writer(socket: $0) : nil }
    }

    public func send(_ words: [UInt64], to party: Int) throws(SecretSharingError) {
        precondition(party != partyIndex && (0..<partyCount).contains(party),
                     "party \(partyIndex) cannot send to \(party)")
        receiving = false
        statistics.bytesSent += 8 * words.count
        statistics.messagesSent += 1
        try writers[party]!.enqueue(words)
    }

    public func receive(from party: Int) throws(SecretSharingError) -> [UInt64] {
        precondition(party != partyIndex && (0..<partyCount).contains(party),
                     "party \(partyIndex) cannot receive from \(party)")
        if !receiving {
            receiving = true
            statistics.rounds += 1
        }
        let fd = sockets[party]
        var header: UInt64 = 0
        try withUnsafeMutableBytes(of: &header) { raw throws(SecretSharingError) in try readAll(fd, raw) }
        let count = Int(UInt64(littleEndian: header))
        guard count >= 0, count < (1 << 31) else {
            throw .malformedMessage(from: party, expected: 0, received: count)
        }
        var words = [UInt64](repeating: 0, count: count)
        let ok = words.withUnsafeMutableBytes { raw in (try? readAll(fd, raw)) != nil }
        guard ok else { throw .channelClosed }
        return words
    }

    fileprivate func shutdownAll() {
        for w in writers { w?.stop() }
        for fd in sockets where fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
    }

    fileprivate func closeAll() {
        for w in writers { w?.stop() }
        for fd in sockets where fd >= 0 { _ = Glibc_close(fd) }
    }
}

@inline(__always) private func Glibc_close(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

private func readAll(_ fd: Int32, _ raw: UnsafeMutableRawBufferPointer) throws(SecretSharingError) {
    var offset = 0
    while offset < raw.count {
        let n = read(fd, raw.baseAddress! + offset, raw.count - offset)
        if n > 0 { offset += n; continue }
        if n < 0 && errno == EINTR { continue }
        throw .channelClosed
    }
}

private func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n > 0 { offset += n; continue }
        if n < 0 && errno == EINTR { continue }
        return false
    }
    return true
}

/// A writer thread draining a queue of messages into one socket.
private final class Writer: @unchecked Sendable {
    private let socket: Int32
    private let condition = NSCondition()
    private var queue: [[UInt64]] = []
    private var stopped = false
    private var failed = false

    init(socket: Int32) {
        self.socket = socket
        let thread = Thread { [self] in self.loop() }
        thread.start()
    }

    func enqueue(_ words: [UInt64]) throws(SecretSharingError) {
        condition.lock()
        defer { condition.unlock() }
        if failed || stopped { throw .channelClosed }
        // A small message with nothing queued ahead of it is written at once: it fits in the
        // socket buffer, so the write cannot block on a peer that is itself sending, and it saves
        // waking the writer thread (the usual case: one round's share of a few hundred words).
        if queue.isEmpty && !writing && words.count <= Self.directWords {
            var header = UInt64(words.count).littleEndian
            let ok = withUnsafeBytes(of: &header) { writeAll(socket, $0) }
                && words.withUnsafeBytes { writeAll(socket, $0) }
            if !ok { failed = true; throw .channelClosed }
            return
        }
        queue.append(words)
        condition.signal()
    }

    /// The largest message written directly (8 KiB, far below any socket buffer).
    static let directWords = 1024
    private var writing = false

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if queue.isEmpty && stopped { condition.unlock(); return }
            let message = queue.removeFirst()
            writing = true
            condition.unlock()
            var header = UInt64(message.count).littleEndian
            let ok = withUnsafeBytes(of: &header) { writeAll(socket, $0) }
                && message.withUnsafeBytes { writeAll(socket, $0) }
            condition.lock()
            writing = false
            if !ok { failed = true }
            condition.unlock()
            if !ok { return }
        }
    }
}
