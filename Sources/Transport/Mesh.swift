import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// A node's address: its identity (the name its certificate carries), host and TCP port.
public struct NodeAddress: Sendable, Equatable {
    public var id: String
    public var host: String
    public var port: Int

    public init(id: String, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }
}

/// Sizes and timeouts of a `Mesh`.
public struct TransportLimits: Sendable, Equatable {
    /// The largest frame (message) accepted or sent, in bytes.
    public var maximumFrameBytes: Int
    /// Unread bytes a peer may have queued at this node before its connection is closed.
    public var maximumQueuedBytes: Int
    /// Seconds to wait for every peer to be connected and authenticated.
    public var connectTimeout: Double
    /// Seconds `receive` waits for a message before it fails (a stalled peer).
    public var receiveTimeout: Double

    public init(maximumFrameBytes: Int = 64 << 20, maximumQueuedBytes: Int? = nil,
                connectTimeout: Double = 30, receiveTimeout: Double = 60) {
        self.maximumFrameBytes = maximumFrameBytes
        self.maximumQueuedBytes = maximumQueuedBytes ?? 4 * maximumFrameBytes
        self.connectTimeout = connectTimeout
        self.receiveTimeout = receiveTimeout
    }

    func validate() throws(TransportError) {
        guard maximumFrameBytes > 0, maximumFrameBytes <= Int(UInt32.max) else {
            throw .invalidConfiguration("maximum frame bytes must lie in 1…\(UInt32.max), got \(maximumFrameBytes)")
        }
        guard maximumQueuedBytes >= maximumFrameBytes else {
            throw .invalidConfiguration("maximum queued bytes must be at least the maximum frame bytes")
        }
        guard connectTimeout > 0, connectTimeout.isFinite, receiveTimeout > 0, receiveTimeout.isFinite else {
            throw .invalidConfiguration("timeouts must be positive and finite")
        }
    }
}

/// One received frame.
public struct Frame: @unchecked Sendable {
    let buffer: ByteBuffer
    /// Its length in bytes.
    public var count: Int { buffer.readableBytes }
    /// Calls `body` with the frame's bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }
}

/// Authenticated, framed, size-limited connections between one node and its peers: TCP with
/// mutual TLS 1.3 (swift-nio-ssl), every peer identified by its certificate.
///
/// Wire format: each message is a frame — a 4-byte big-endian length, then that many bytes —
/// inside the TLS stream. A frame announced longer than `maximumFrameBytes` closes the
/// connection before it is read.
///
/// Set-up (`establish`): the node listens on exactly the address it is given (never on all
/// interfaces unless that address says so) for the peers in `accept`, and dials the peers in
/// `dial`, retrying until they listen. Both ends verify the other's chain against the one
/// trusted CA; the acceptor then reads the dialer's identity off its certificate and refuses a
/// connection whose certificate names no expected peer, or a peer already connected; the dialer
/// refuses a listener whose certificate does not name the peer it dialled. Set-up fails if some
/// peer is not connected within `connectTimeout`, naming it and any refused connection.
///
/// Use: `send` and `receive` are blocking and thread-safe per peer (one sender and one receiver
/// thread per peer at a time); messages between two nodes arrive in order. `receive` fails with
/// `peerClosed` when the peer's connection ends, `timedOut` after `receiveTimeout`, never hangs.
/// Nothing is logged.
public final class Mesh: @unchecked Sendable {
    /// This node's identity.
    public let selfID: String
    /// The limits in force.
    public let limits: TransportLimits
    private let group: MultiThreadedEventLoopGroup
    private let lock = NSCondition()
    private var connections: [String: NIOCore.Channel] = [:]
    private var mailboxes: [String: Mailbox] = [:]
    private var refusals: [String] = []
    private var serverChannel: NIOCore.Channel?
    private var lastWrites: [String: EventLoopFuture<Void>] = [:]
    private var isClosed = false

    private init(selfID: String, peers: [String], limits: TransportLimits) {
        self.selfID = selfID
        self.limits = limits
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        for p in peers { mailboxes[p] = Mailbox(peer: p, limit: limits.maximumQueuedBytes) }
    }

    /// Connects `selfID` to its peers: listens on `listen` for every peer in `accept` and dials
    /// every address in `dial`; returns when all are connected and authenticated.
    ///
    /// With `minimumAccepted`, a listener that has at least that many accepted peers when the
    /// connect timeout ends goes on without the rest: receiving from a missing peer fails with
    /// `peerMissing` at once (`isAvailable` tells which peers are there). A federated server
    /// restarted after some clients died uses it.
    public static func establish(
        selfID: String, listen: NodeAddress?, accept: [String], dial: [NodeAddress],
        credentials: TLSCredentials, limits: TransportLimits = TransportLimits(), minimumAccepted: Int? = nil
    ) throws(TransportError) -> Mesh {
        try limits.validate()
        let peers = accept + dial.map(\.id)
        guard Set(peers).count == peers.count, !peers.contains(selfID) else {
            throw .invalidConfiguration("peers must be distinct and exclude this node '\(selfID)'")
        }
        guard credentials.names.contains(selfID) else {
            throw .invalidConfiguration(
                "this node's certificate names \(Identity.describe(credentials.names)), not '\(selfID)'")
        }
        if !accept.isEmpty && listen == nil {
            throw .invalidConfiguration("node '\(selfID)' accepts peers but has no address to listen on")
        }
        let mesh = Mesh(selfID: selfID, peers: peers, limits: limits)
        do {
            try mesh.start(listen: accept.isEmpty ? nil : listen, accept: Set(accept), dial: dial, credentials: credentials,
                           minimumAccepted: minimumAccepted)
        } catch {
            mesh.close()
            throw error
        }
        return mesh
    }

    private func start(
        listen: NodeAddress?, accept: Set<String>, dial: [NodeAddress], credentials: TLSCredentials, minimumAccepted: Int?
    ) throws(TransportError) {
        let deadline = Date().addingTimeInterval(limits.connectTimeout)
        let frameLimit = limits.maximumFrameBytes
        if let listen {
            var configuration = TLSConfiguration.makeServerConfigurationWithMTLS(
                certificateChain: [.certificate(credentials.certificate)],
                privateKey: .privateKey(credentials.privateKey),
                trustRoots: .certificates([credentials.trustedCA]))
            configuration.minimumTLSVersion = .tlsv13
            let context: NIOSSLContext
            do { context = try NIOSSLContext(configuration: configuration) } catch {
                throw .invalidConfiguration("TLS server context: \(error)")
            }
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = PeerHandler(mesh: self, expected: nil, known: accept)
                        try channel.pipeline.syncOperations.addHandlers([
                            NIOSSLServerHandler(context: context),
                            ByteToMessageHandler(FrameDecoder(limit: frameLimit), maximumBufferSize: frameLimit + 4),
                            handler,
                        ])
                    }
                }
            do {
                serverChannel = try bootstrap.bind(host: listen.host, port: listen.port).wait()
            } catch {
                throw .invalidConfiguration("cannot listen on \(listen.host):\(listen.port): \(error)")
            }
        }
        var clientConfiguration = TLSConfiguration.makeClientConfiguration()
        clientConfiguration.certificateChain = [.certificate(credentials.certificate)]
        clientConfiguration.privateKey = .privateKey(credentials.privateKey)
        clientConfiguration.trustRoots = .certificates([credentials.trustedCA])
        clientConfiguration.certificateVerification = .noHostnameVerification
        clientConfiguration.minimumTLSVersion = .tlsv13
        let clientContext: NIOSSLContext
        do { clientContext = try NIOSSLContext(configuration: clientConfiguration) } catch {
            throw .invalidConfiguration("TLS client context: \(error)")
        }
        for peer in dial {
            try dialPeer(peer, context: clientContext, deadline: deadline)
        }
        // Wait for every peer (dialled ones register on their handshake, accepted ones when they
        // connect).
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let missing = mailboxes.keys.sorted().first(where: { connections[$0] == nil && !mailboxes[$0]!.isFailed }) {
                if !lock.wait(until: deadline) {
                    let present = accept.filter { connections[$0] != nil }.count
                    if let minimumAccepted, present >= minimumAccepted, dial.allSatisfy({ connections[$0.id] != nil }) {
                        for peer in mailboxes.keys where connections[peer] == nil {
                            mailboxes[peer]!.fail(.peerMissing(peer: peer, seconds: limits.connectTimeout, refused: []))
                        }
                        return
                    }
                    throw .peerMissing(peer: missing, seconds: limits.connectTimeout, refused: refusals)
                }
                continue
            }
            if let minimumAccepted, accept.filter({ connections[$0] != nil }).count >= minimumAccepted,
               dial.allSatisfy({ connections[$0.id] != nil }) {
                return
            }
            if let failed = mailboxes.keys.sorted().first(where: { connections[$0] == nil }) {
                throw mailboxes[failed]!.failure ?? .peerMissing(peer: failed, seconds: limits.connectTimeout, refused: refusals)
            }
            return
        }
    }

    /// Connects to `peer`, retrying while it is not yet listening, until `deadline`.
    private func dialPeer(_ peer: NodeAddress, context: NIOSSLContext, deadline: Date) throws(TransportError) {
        let frameLimit = limits.maximumFrameBytes
        var lastError = "not reached"
        while Date() < deadline {
            let remaining = deadline.timeIntervalSinceNow
            let bootstrap = ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(max(1, min(remaining, 5)) * 1000)))
                .channelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        let tls = try NIOSSLClientHandler(context: context, serverHostname: nil)
                        try channel.pipeline.syncOperations.addHandlers([
                            tls,
                            ByteToMessageHandler(FrameDecoder(limit: frameLimit), maximumBufferSize: frameLimit + 4),
                            PeerHandler(mesh: self, expected: peer.id, known: [peer.id]),
                        ])
                    }
                }
            do {
                let channel = try bootstrap.connect(host: peer.host, port: peer.port).wait()
                // Wait for the TLS handshake to register the peer. A connection that ends before
                // (a listener that was dying as we connected: a restarted peer) is dialled again;
                // a peer whose certificate names someone else is not.
                lock.lock()
                while connections[peer.id] == nil && channel.isActive && !mailboxes[peer.id]!.isFailed && Date() < deadline {
                    _ = lock.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
                }
                let registered = connections[peer.id] != nil
                lock.unlock()
                if registered { return }
                if let failure = mailboxes[peer.id]!.failure {
                    if case .wrongPeer = failure { throw failure }
                    mailboxes[peer.id]!.clearFailure()
                    lastError = "\(failure)"
                } else {
                    lastError = "the connection ended before the TLS handshake completed"
                }
                channel.close(promise: nil)
                Thread.sleep(forTimeInterval: min(0.1, max(0, deadline.timeIntervalSinceNow)))
            } catch let error as TransportError {
                throw error
            } catch {
                lastError = "\(error)"
                Thread.sleep(forTimeInterval: min(0.1, max(0, deadline.timeIntervalSinceNow)))
            }
        }
        throw .peerMissing(peer: peer.id, seconds: limits.connectTimeout, refused: refusals + ["\(peer.host):\(peer.port): \(lastError)"])
    }

    // MARK: Events from the connections (on the event loop)

    /// Registers an authenticated connection; returns a refusal reason or nil.
    fileprivate func register(_ id: String, channel: NIOCore.Channel) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if isClosed { return "the mesh is closed" }
        guard mailboxes[id] != nil else { return "'\(id)' is not a peer of '\(selfID)'" }
        if connections[id] != nil { return "'\(id)' is already connected" }
        connections[id] = channel
        lock.broadcast()
        return nil
    }

    fileprivate func refuse(_ reason: String) {
        lock.lock()
        refusals.append(reason)
        lock.broadcast()
        lock.unlock()
    }

    fileprivate func deliver(_ frame: ByteBuffer, from id: String) -> Bool {
        mailboxes[id]!.put(frame)
    }

    fileprivate func fail(_ id: String, _ error: TransportError) {
        mailboxes[id]?.fail(error)
        lock.lock()
        lock.broadcast()
        lock.unlock()
    }

    // MARK: Use

    /// Whether `peer` is connected and its connection has not failed or been closed.
    public func isAvailable(_ peer: String) -> Bool {
        guard let mailbox = mailboxes[peer], mailbox.failure == nil else { return false }
        lock.lock(); defer { lock.unlock() }
        return connections[peer] != nil && !isClosed
    }

    /// Sends `bytes` as one frame to `peer`.
    public func send(_ bytes: UnsafeRawBufferPointer, to peer: String) throws(TransportError) {
        guard bytes.count <= limits.maximumFrameBytes else {
            throw .outgoingFrameTooLarge(peer: peer, bytes: bytes.count, limit: limits.maximumFrameBytes)
        }
        guard let mailbox = mailboxes[peer] else { throw .unknownPeer(peer) }
        if let failure = mailbox.failure { throw failure }
        lock.lock()
        let channel = connections[peer]
        let closed = isClosed
        lock.unlock()
        if closed { throw .closed }
        guard let channel else { throw .unknownPeer(peer) }
        var buffer = channel.allocator.buffer(capacity: 4 + bytes.count)
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        let written = channel.writeAndFlush(buffer)
        lock.lock()
        lastWrites[peer] = written
        lock.unlock()
    }

    /// Sends `bytes` as one frame to `peer`.
    public func send(_ bytes: [UInt8], to peer: String) throws(TransportError) {
        let failure = bytes.withUnsafeBytes { (raw) -> TransportError? in
            do { try send(raw, to: peer); return nil } catch { return (error as? TransportError) ?? .closed }
        }
        if let failure { throw failure }
    }

    /// Sends raw bytes without framing: for tests of malformed input only.
    public func unsafeSendUnframed(_ bytes: [UInt8], to peer: String) throws(TransportError) {
        lock.lock()
        let channel = connections[peer]
        lock.unlock()
        guard let channel else { throw .unknownPeer(peer) }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// The next frame from `peer`, waiting at most `receiveTimeout`.
    public func receive(from peer: String) throws(TransportError) -> Frame {
        guard let mailbox = mailboxes[peer] else { throw .unknownPeer(peer) }
        return Frame(buffer: try mailbox.take(timeout: limits.receiveTimeout))
    }

    /// Closes the connection to `peer` (the others stay open): its receives fail with `closed`,
    /// and the peer sees its connection end.
    public func disconnect(_ peer: String) {
        lock.lock()
        let channel = connections[peer]
        lock.unlock()
        mailboxes[peer]?.fail(.closed)
        channel?.close(promise: nil)
    }

    /// Closes every connection and the listener; blocked receives fail with `closed`.
    public func close() {
        lock.lock()
        if isClosed { lock.unlock(); return }
        isClosed = true
        let channels = Array(connections.values) + (serverChannel.map { [$0] } ?? [])
        let writes = Array(lastWrites.values)
        lock.unlock()
        // Let the last message to each peer leave (a peer still reading gets it), for at most a
        // few seconds: a peer that stopped reading must not hold this node.
        let flushed = DispatchSemaphore(value: 0)
        for w in writes { w.whenComplete { _ in flushed.signal() } }
        let flushDeadline = DispatchTime.now() + min(limits.receiveTimeout, 5)
        for _ in writes { if flushed.wait(timeout: flushDeadline) == .timedOut { break } }
        for m in mailboxes.values { m.fail(.closed) }
        for c in channels { try? c.close().wait() }
        try? group.syncShutdownGracefully()
    }

    deinit {
        if !isClosed { try? group.syncShutdownGracefully() }
    }
}

/// Messages from one peer, waiting to be received.
private final class Mailbox: @unchecked Sendable {
    let peer: String
    private let limit: Int
    private let condition = NSCondition()
    private var queue: [ByteBuffer] = []
    private var head = 0
    private var queuedBytes = 0
    private var error: TransportError?

    init(peer: String, limit: Int) {
        self.peer = peer
        self.limit = limit
    }

    var failure: TransportError? {
        condition.lock(); defer { condition.unlock() }
        return error
    }

    var isFailed: Bool { failure != nil }

    /// Queues a frame; false (and the mailbox failed) if the peer has too much unread.
    func put(_ frame: ByteBuffer) -> Bool {
        condition.lock(); defer { condition.unlock() }
        if error != nil { return false }
        queuedBytes += frame.readableBytes
        if queuedBytes > limit {
            error = .receiveQueueFull(peer: peer, limit: limit)
            condition.broadcast()
            return false
        }
        queue.append(frame)
        condition.signal()
        return true
    }

    /// Forgets a failure of a connection that never carried a frame (before it was registered),
    /// so that the peer can be dialled again.
    func clearFailure() {
        condition.lock()
        if queue.isEmpty { error = nil }
        condition.unlock()
    }

    /// Fails the mailbox (the first failure is kept); queued frames are still delivered first.
    func fail(_ failure: TransportError) {
        condition.lock()
        if error == nil { error = failure }
        condition.broadcast()
        condition.unlock()
    }

    func take(timeout: Double) throws(TransportError) -> ByteBuffer {
        condition.lock(); defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while head == queue.count {
            if let error { throw error }
            if !condition.wait(until: deadline) && head == queue.count {
                if let error { throw error }
                throw .timedOut(peer: peer, seconds: timeout)
            }
        }
        let frame = queue[head]
        queue[head] = ByteBuffer()
        head += 1
        queuedBytes -= frame.readableBytes
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        }
        return frame
    }
}

/// Splits the TLS stream into frames: a 4-byte big-endian length, then the bytes.
struct FrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let limit: Int

    struct TooLarge: Error { let bytes: Int; let limit: Int }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard Int(length) <= limit else { throw TooLarge(bytes: Int(length), limit: limit) }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(length))!
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// The last handler of a connection: authenticates the peer when the TLS handshake completes,
/// then hands its frames to the mesh.
private final class PeerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let mesh: Mesh
    /// The peer dialled (nil at the acceptor, which learns it from the certificate).
    private let expected: String?
    private let known: Set<String>
    private var peer: String?

    init(mesh: Mesh, expected: String?, known: Set<String>) {
        self.mesh = mesh
        self.expected = expected
        self.known = known
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            authenticate(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func authenticate(_ context: ChannelHandlerContext) {
        let names: [String]
        do {
            guard let certificate = try context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).peerCertificate else {
                return reject(context, "no client certificate")
            }
            names = try Identity.names(der: certificate.toDERBytes())
        } catch {
            return reject(context, "unreadable certificate")
        }
        switch Identity.match(names, known: known) {
        case let .failure(refusal):
            if let expected {
                mesh.fail(expected, .wrongPeer(expected: expected, presented: Identity.describe(names)))
                context.close(promise: nil)
            } else {
                reject(context, refusal.reason)
            }
        case let .success(id):
            if let reason = mesh.register(id, channel: context.channel) {
                return reject(context, reason)
            }
            peer = id
        }
    }

    private func reject(_ context: ChannelHandlerContext, _ reason: String) {
        let from = context.remoteAddress.map { "\($0)" } ?? "unknown address"
        mesh.refuse("\(from): \(reason)")
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return }  // nothing is accepted before authentication
        if !mesh.deliver(Self.unwrapInboundIn(data), from: peer) {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer { mesh.fail(peer, .peerClosed(peer: peer)) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tooLarge = error as? FrameDecoder.TooLarge, let peer {
            mesh.fail(peer, .frameTooLarge(peer: peer, bytes: tooLarge.bytes, limit: tooLarge.limit))
        } else if let peer {
            mesh.fail(peer, .connectionFailed(peer: peer, reason: Self.describe(error)))
        } else if let expected {
            mesh.fail(expected, .connectionFailed(peer: expected, reason: Self.describe(error)))
        } else {
            let from = context.remoteAddress.map { "\($0)" } ?? "unknown address"
            mesh.refuse("\(from): \(Self.describe(error))")
        }
        context.close(promise: nil)
    }

    /// A short, payload-free description of a connection error.
    static func describe(_ error: any Error) -> String {
        if let ssl = error as? NIOSSLError {
            switch ssl {
            case .handshakeFailed: return "TLS handshake failed (certificate not accepted)"
            case .uncleanShutdown: return "connection closed without TLS shutdown"
            default: return "TLS error"
            }
        }
        if error is ByteToMessageDecoderError { return "malformed framing" }
        return "\(type(of: error))"
    }
}
