import Foundation
import NetworkTestSupport
import MPCNetwork
import SecretSharing
import Testing
import Transport

/// The MPC channel over TLS: malformed frames and wrong-shape shares become named errors.
@Suite("Network channel", .serialized)
struct NetworkChannelTests {
    let w: Workspace

    init() throws {
        w = try Workspace()
        try DevelopmentCertificates.write(names: ["alice", "bob"], to: w.path + "/certs")
    }

    func channels() throws -> (NetworkChannel, NetworkChannel, Mesh, Mesh) {
        let port = freePorts(1)[0]
        let limits = TransportLimits(maximumFrameBytes: 1 << 16, connectTimeout: 5, receiveTimeout: 2)
        let a = try w.credentials("alice"), b = try w.credentials("bob")
        let alice = background {
            try Mesh.establish(selfID: "alice", listen: NodeAddress(id: "alice", host: "127.0.0.1", port: port),
                               accept: ["bob"], dial: [], credentials: a, limits: limits)
        }
        let bob = background {
            try Mesh.establish(selfID: "bob", listen: nil, accept: [],
                               dial: [NodeAddress(id: "alice", host: "127.0.0.1", port: port)], credentials: b, limits: limits)
        }
        let (ma, mb) = (try alice(), try bob())
        return (NetworkChannel(mesh: ma, ids: ["alice", "bob"], partyIndex: 0),
                NetworkChannel(mesh: mb, ids: ["alice", "bob"], partyIndex: 1), ma, mb)
    }

    @Test("an opening crosses the network: both parties learn the sum of the shares")
    func opening() throws {
        let (alice, bob, ma, mb) = try channels()
        defer { ma.close(); mb.close() }
        let other = background { try bob.openAdditive([10, 20, UInt64.max]) }
        #expect(try alice.openAdditive([1, 2, 3]) == [11, 22, 2])
        #expect(try other() == [11, 22, 2])
        #expect(alice.statistics.rounds == 1 && alice.statistics.bytesSent == 24)
    }

    @Test("a frame that is not whole 64-bit words is refused, naming the party")
    func partialWords() throws {
        let (alice, _, ma, mb) = try channels()
        defer { ma.close(); mb.close() }
        try mb.send([1, 2, 3, 4, 5, 6, 7], to: "alice")
        let error = #expect(throws: SecretSharingError.self) { try alice.receive(from: 1) }
        #expect(error == .peerFailure(party: 1, reason: "'bob' sent a frame of 7 bytes, not a whole number of 64-bit words"))
    }

    @Test("shares of the wrong shape are refused by the protocol")
    func wrongShape() throws {
        let (alice, bob, ma, mb) = try channels()
        defer { ma.close(); mb.close() }
        try bob.send([1, 2], to: 0)
        #expect(throws: SecretSharingError.malformedMessage(from: 1, expected: 3, received: 2)) {
            try alice.openAdditive([1, 2, 3])
        }
    }

    @Test("a party that stalls makes its peer fail with a timeout naming it")
    func stalled() throws {
        let (alice, _, ma, mb) = try channels()
        defer { ma.close(); mb.close() }
        let error = #expect(throws: SecretSharingError.self) { try alice.openAdditive([1]) }
        #expect(error == .peerFailure(party: 1, reason: "'bob': no message from peer 'bob' within 2.0 s (stalled?)"))
    }

    @Test("a dealer answer of the wrong shape is refused")
    func dealerAnswerShape() throws {
        let provider = RemoteDealerProvider { (_: [UInt64]) throws(SecretSharingError) -> [UInt64] in [3, 2, 2, 1, 0, 0, 0, 0, 0] }
        #expect(throws: SecretSharingError.providerFailure("the dealer's answer does not have the shape of the request")) {
            try provider.multiplicationTriples(count: 2)
        }
    }

    @Test("malformed or oversized requests to the dealer are refused before any allocation")
    func dealerRequests() throws {
        let dealer = TrustedDealer.insecureSeeded(partyCount: 2, seed: 1)
        #expect(throws: SecretSharingError.self) { try dealer.answer([9, 1], party: 0) }
        #expect(throws: SecretSharingError.self) { try dealer.answer([2, 1 << 20, 1 << 20, 1], party: 0, maximumWords: 1 << 20) }
        #expect(throws: SecretSharingError.self) { try dealer.answer([1, 0], party: 0) }
        #expect(throws: SecretSharingError.self) { try dealer.answer([1, 4], party: 5) }
        // A well-formed request is served with the layout the provider checks.
        let provider = RemoteDealerProvider { (w: [UInt64]) throws(SecretSharingError) -> [UInt64] in try dealer.answer(w, party: 0) }
        let triple = try provider.matrixTriple(m: 2, k: 3, n: 4)
        #expect(triple.a.count == 6 && triple.b.count == 12 && triple.c.count == 8)
    }
}
