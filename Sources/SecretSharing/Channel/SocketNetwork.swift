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
        guard partyCount >= 2 else {
            throw .invalidArgument("an MPC network needs at least two parties, got \(partyCount)")
        }
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
                // Room for a whole round's message in the kernel (up to the system's wmem_max), so
                // that a sender usually writes it at once instead of through its writer thread.
                for fd in pair {
                    var size = Int32(SocketNetwork.sendBufferBytes)
                    _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                }
                fds[i][j] = pair[0]
                fds[j][i] = pair[1]
            }
        }
        endpoints = (0..<partyCount).map { SocketChannel(party: $0, partyCount: partyCount, sockets: fds[$0]) }
    }

    /// The send buffer requested for every socket (the kernel caps it at `net.core.wmem_max`).
    static let sendBufferBytes = 4 << 20

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
    private let pool = WordBufferPool()

    fileprivate init(party: Int, partyCount: Int, sockets: [Int32]) {
        self.partyIndex = party
        self.partyCount = partyCount
        self.sockets = sockets
        self.writers = sockets.map { $0 >= 0 ? Writer(socket: $0) : nil }
    }

    public func send(_ words: [UInt64], to party: Int) throws(SecretSharingError) {
        guard party != partyIndex && (0..<partyCount).contains(party) else {
            throw .invalidArgument("party \(partyIndex) cannot send to \(party)")
        }
        receiving = false
        statistics.bytesSent += 8 * words.count
        statistics.messagesSent += 1
        try writers[party]!.enqueue(words)
    }

    public func receive(from party: Int) throws(SecretSharingError) -> [UInt64] {
        guard party != partyIndex && (0..<partyCount).contains(party) else {
            throw .invalidArgument("party \(partyIndex) cannot receive from \(party)")
        }
        if !receiving {
            receiving = true
            statistics.rounds += 1
        }
        let fd = sockets[party]
        awaitReadable(fd)
        var header: UInt64 = 0
        try withUnsafeMutableBytes(of: &header) { raw throws(SecretSharingError) in try readAll(fd, raw) }
        let count = Int(UInt64(littleEndian: header))
        guard count >= 0, count < (1 << 31) else {
            throw .malformedMessage(from: party, expected: 0, received: count)
        }
        var words = pool.take(count)
        let ok = words.withUnsafeMutableBytes { raw in (try? readAll(fd, raw)) != nil }
        guard ok else { throw .channelClosed }
        return words
    }

    /// Keeps `words` for a later message of the same size (see `Channel.recycle`).
    public func recycle(_ words: consuming [UInt64]) { pool.recycle(words) }

    /// A buffer from this channel's pool (see `Channel.buffer`).
    public func buffer(count: Int) -> [UInt64] { pool.take(count) }

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

/// Polls `fd` without blocking (see `BusyWait`) before the caller's blocking read: a peer's
/// reply usually arrives within tens of microseconds, while a sleeping reader's wake-up can cost
/// hundreds.
private func awaitReadable(_ fd: Int32) {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    _ = BusyWait.poll {
        entry.revents = 0
        return poll(&entry, 1, 0) != 0
    }
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
    private var queue: [(words: [UInt64], offset: Int)] = []
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
        // With nothing queued ahead of it, the message is written at once as far as the socket
        // buffer takes it, without blocking (so a party never blocks on a peer that is itself
        // sending, and no deadlock is possible whatever the sizes); only a remainder goes to the
        // writer thread. The usual round's message fits entirely: no thread wake-up.
        var offset = 0
        if queue.isEmpty && !writing {
            guard let sent = writeNow(words) else { failed = true; throw .channelClosed }
            if sent == 8 + 8 * words.count { return }
            offset = sent
        }
        queue.append((words, offset))
        condition.signal()
    }

    /// Writes as much of the framed message as the socket takes without blocking; nil on error.
    private func writeNow(_ words: [UInt64]) -> Int? {
        var header = UInt64(words.count).littleEndian
        return withUnsafeMutableBytes(of: &header) { h in
            words.withUnsafeBytes { payload in
                var parts = [
                    iovec(iov_base: h.baseAddress, iov_len: 8),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count),
                ]
                return parts.withUnsafeMutableBufferPointer { iov -> Int? in
                    var message = msghdr()
                    message.msg_iov = iov.baseAddress
                    message.msg_iovlen = payload.count > 0 ? 2 : 1
                    while true {
                        let n = sendmsg(socket, &message, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
                        if n >= 0 { return n }
                        if errno == EINTR { continue }
                        if errno == EAGAIN || errno == EWOULDBLOCK { return 0 }
                        return nil
                    }
                }
            }
        }
    }

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
            let (message, offset) = queue.removeFirst()
            writing = true
            condition.unlock()
            // The framed message is the 8-byte header then the words; `offset` bytes of it were
            // written already by `enqueue`.
            var header = UInt64(message.count).littleEndian
            var ok = true
            if offset < 8 {
                ok = withUnsafeBytes(of: &header) { writeAll(socket, UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            }
            if ok {
                ok = message.withUnsafeBytes { writeAll(socket, UnsafeRawBufferPointer(rebasing: $0[Swift.max(0, offset - 8)...])) }
            }
            condition.lock()
            writing = false
            if !ok { failed = true }
            condition.unlock()
            if !ok { return }
        }
    }
}
