import Foundation
import NetworkTestSupport
import MPCNetwork
import SecretSharing
import Testing
import Transport

/// Issue #22 item 6 end to end: a real `privacy-lab mpc run` party facing a peer that breaks the
/// protocol (here the test itself, holding bob's certificate) stops with one error naming the
/// problem, well within the receive timeout — never a hang, never a value in the message.
@Suite("MPC processes facing a faulty peer", .serialized)
struct FaultTests {
    let w: Workspace

    init() throws {
        w = try Workspace()
        try DevelopmentCertificates.write(names: ["alice", "bob"], to: w.path + "/certs")
    }

    /// Alice's secret rows: 10 rows of 3 features and a label.
    static let aliceRows = ProcessTests.table(rows: 10, features: 3, seed: 31)

    /// Starts alice (a child process) with a 30 s receive timeout, connects to her as bob, lets
    /// `misbehave` act, and returns alice's exit status, whether she stopped within 10 s, and her
    /// standard error.
    func faceAlice(_ misbehave: (Mesh) throws -> Void) throws -> (status: Int32, finished: Bool, errors: String) {
        let port = freePorts(1)[0]
        try w.write("alice.csv", Self.aliceRows.csv())
        try w.write("bob.csv", Self.aliceRows.csv())
        let path = try w.write("spec.yaml", """
            version: 1
            ca: certs/ca.pem
            parties:
              - {id: alice, address: "127.0.0.1:\(port)", certificate: certs/alice.pem, key: certs/alice-key.pem, input: alice.csv}
              - {id: bob, address: "127.0.0.1:\(freePorts(1)[0])", certificate: certs/bob.pem, key: certs/bob-key.pem, input: bob.csv}
            task: {kind: logistic-regression, split: rows, label: label, epochs: 1, batch-size: 5}
            correlations: {source: insecure-shared-seed, seed: 3}
            limits: {connect-timeout: 20, receive-timeout: 30, max-frame-bytes: 65536}

            """)
        let alice = try ProcessTests.Child(["mpc", "run", path, "--party", "alice"], in: w.path, name: "alice")
        let bob = try Mesh.establish(
            selfID: "bob", listen: nil, accept: [], dial: [NodeAddress(id: "alice", host: "127.0.0.1", port: port)],
            credentials: w.credentials("bob"), limits: TransportLimits(maximumFrameBytes: 65536, connectTimeout: 20, receiveTimeout: 10))
        defer { bob.close() }
        try misbehave(bob)
        let r = alice.finish(within: 10)
        return (r.status, r.finished, alice.errors)
    }

    static func bytes(_ words: [UInt64]) -> [UInt8] {
        words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
    }

    /// Alice's stderr holds one error line, which names `problem`, and no value of her input.
    func expectOneError(_ r: (status: Int32, finished: Bool, errors: String), naming problem: String) {
        #expect(r.finished, "alice did not stop within 10 s")
        #expect(r.status != 0)
        let lines = r.errors.split(separator: "\n").filter { $0.contains("rror") }
        #expect(lines.count == 1 && lines[0].contains(problem), "\(r.errors)")
        #expect(!Self.aliceRows.values.contains { $0 != 0 && $0 != 1 && r.errors.contains("\($0)") })
    }

    @Test("a frame that is not whole 64-bit words")
    func malformedFrame() throws {
        let r = try faceAlice { bob in try bob.send([1, 2, 3, 4, 5, 6, 7], to: "alice") }
        expectOneError(r, naming: "'bob' sent a frame of 7 bytes, not a whole number of 64-bit words")
    }

    @Test("a frame announced over the size limit")
    func oversizedFrame() throws {
        let r = try faceAlice { bob in try bob.unsafeSendUnframed([0x80, 0, 0, 0], to: "alice") }
        expectOneError(r, naming: "peer 'bob' announced a frame of 2147483648 bytes, over the limit of 65536; connection closed")
    }

    @Test("shares of the wrong shape")
    func wrongShapeShares() throws {
        let r = try faceAlice { bob in
            // The pairwise key alice draws for bob (4 words), then the announcements as the
            // protocol has them: 10 rows, 3 features, a label column, the features' bound.
            #expect(try bob.receive(from: "alice").count == 32)
            #expect(try bob.receive(from: "alice").count == 32)
            try bob.send(Self.bytes([10, 3, 1, 4.0.bitPattern]), to: "alice")
            // The blocks are shared without messages; the first step's product X·w then opens
            // its masked shares: 5×3 + 3×1 words. Bob sends 5 words instead.
            _ = try bob.receive(from: "alice")
            try bob.send(Self.bytes([1, 2, 3, 4, 5]), to: "alice")
        }
        expectOneError(r, naming: "message from party 1: expected 18 words, received 5")
    }

    @Test("an impossible announced shape")
    func impossibleShape() throws {
        let r = try faceAlice { bob in
            _ = try bob.receive(from: "alice")
            _ = try bob.receive(from: "alice")
            try bob.send(Self.bytes([1 << 40, 3, 1, 4.0.bitPattern]), to: "alice")
        }
        expectOneError(r, naming: "party 1: announced an impossible input shape")
    }
}
