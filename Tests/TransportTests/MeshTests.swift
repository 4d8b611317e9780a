import Foundation
import NetworkTestSupport
import Testing
import Transport

/// The TLS mesh between two nodes on 127.0.0.1: authentication by certificate, framing limits,
/// and failures that end in a named error within the timeout.
@Suite("TLS mesh", .serialized)
struct MeshTests {
    let w: Workspace

    init() throws {
        w = try Workspace()
        try DevelopmentCertificates.write(names: ["alice", "bob", "mallory"], to: w.path + "/certs")
        try DevelopmentCertificates.write(names: ["bob"], to: w.path + "/other")
    }

    static let quick = TransportLimits(maximumFrameBytes: 1 << 16, connectTimeout: 2, receiveTimeout: 1)

    /// alice listens for bob; `dialer` (bob's credentials by default) dials alice as `dialerID`.
    func connect(
        dialerID: String = "bob", dialer: TLSCredentials? = nil, limits: TransportLimits = quick
    ) throws -> (alice: () throws -> Mesh, bob: () throws -> Mesh) {
        let port = freePorts(1)[0]
        let aliceCredentials = try w.credentials("alice")
        let bobCredentials = try dialer ?? w.credentials("bob")
        let alice = background {
            try Mesh.establish(selfID: "alice", listen: NodeAddress(id: "alice", host: "127.0.0.1", port: port),
                               accept: ["bob"], dial: [], credentials: aliceCredentials, limits: limits)
        }
        let bob = background {
            try Mesh.establish(selfID: dialerID, listen: nil, accept: [],
                               dial: [NodeAddress(id: "alice", host: "127.0.0.1", port: port)],
                               credentials: bobCredentials, limits: limits)
        }
        return (alice, bob)
    }

    @Test("frames cross both ways, in order, between authenticated peers")
    func roundTrip() throws {
        let (a, b) = try connect()
        let alice = try a(), bob = try b()
        defer { alice.close(); bob.close() }
        for i in 0..<5 { try bob.send([UInt8](repeating: UInt8(i), count: 100 * i), to: "alice") }
        for i in 0..<5 {
            let frame = try alice.receive(from: "bob")
            #expect(frame.count == 100 * i)
            frame.withUnsafeBytes { raw in #expect(raw.allSatisfy { $0 == UInt8(i) }) }
        }
        try alice.send([7, 8, 9], to: "bob")
        #expect(try bob.receive(from: "alice").withUnsafeBytes { Array($0) } == [7, 8, 9])
    }

    @Test("a certificate from another CA is refused at the handshake; the listener names the missing peer")
    func otherCARefused() throws {
        let (a, b) = try connect(dialer: try w.credentials("bob", folder: "other"))
        let bobError = #expect(throws: TransportError.self) { try b() }
        let aliceError = #expect(throws: TransportError.self) { try a() }
        guard case let .peerMissing(peer, _, refused)? = aliceError else {
            Issue.record("alice: \(String(describing: aliceError))"); return
        }
        #expect(peer == "bob")
        #expect(refused.contains { $0.contains("TLS handshake failed") })
        #expect(bobError != nil)
    }

    @Test("a certificate of the right CA naming no expected peer is refused")
    func unknownNameRefused() throws {
        let (a, b) = try connect(dialerID: "mallory", dialer: try w.credentials("mallory"))
        let aliceError = #expect(throws: TransportError.self) { try a() }
        _ = try? b().close()
        guard case let .peerMissing(peer, _, refused)? = aliceError else {
            Issue.record("alice: \(String(describing: aliceError))"); return
        }
        #expect(peer == "bob")
        #expect(refused.contains { $0.contains("'mallory'") && $0.contains("none an expected peer") })
    }

    @Test("a frame announced over the limit closes the connection with a named error")
    func oversizedFrame() throws {
        let (a, b) = try connect()
        let alice = try a(), bob = try b()
        defer { alice.close(); bob.close() }
        // A header announcing 2^31 bytes, then nothing: alice must not wait for (or allocate) them.
        try bob.unsafeSendUnframed([0x80, 0, 0, 0], to: "alice")
        #expect(throws: TransportError.frameTooLarge(peer: "bob", bytes: 1 << 31, limit: 1 << 16)) {
            try alice.receive(from: "bob")
        }
        #expect(throws: TransportError.outgoingFrameTooLarge(peer: "alice", bytes: (1 << 16) + 1, limit: 1 << 16)) {
            try bob.send([UInt8](repeating: 0, count: (1 << 16) + 1), to: "alice")
        }
    }

    @Test("a peer that closes makes receive fail at once; one that stalls, after the timeout")
    func closedAndStalled() throws {
        let (a, b) = try connect()
        let alice = try a(), bob = try b()
        defer { alice.close() }
        #expect(throws: TransportError.timedOut(peer: "bob", seconds: 1)) { try alice.receive(from: "bob") }
        try bob.send([1], to: "alice")
        bob.close()
        // The message sent before closing still arrives, then the closure is reported.
        #expect(try alice.receive(from: "bob").count == 1)
        let error = #expect(throws: TransportError.self) { try alice.receive(from: "bob") }
        #expect(error == .peerClosed(peer: "bob") || error == .connectionFailed(peer: "bob", reason: "connection closed without TLS shutdown"))
    }

    @Test("a node listens on the address it is given only")
    func listensOnGivenAddressOnly() throws {
        let port = freePorts(1)[0]
        let alice = try w.credentials("alice"), bob = try w.credentials("bob")
        let listener = background {
            try Mesh.establish(selfID: "alice", listen: NodeAddress(id: "alice", host: "127.0.0.1", port: port),
                               accept: ["bob"], dial: [], credentials: alice, limits: Self.quick)
        }
        // 127.0.0.2 is this machine too, but alice is not listening there.
        var limits = Self.quick
        limits.connectTimeout = 1
        #expect(throws: TransportError.self) {
            try Mesh.establish(selfID: "bob", listen: nil, accept: [],
                               dial: [NodeAddress(id: "alice", host: "127.0.0.2", port: port)], credentials: bob, limits: limits)
        }
        let error = #expect(throws: TransportError.self) { try listener() }
        #expect(error.map { if case .peerMissing = $0 { true } else { false } } == true)
    }
}
