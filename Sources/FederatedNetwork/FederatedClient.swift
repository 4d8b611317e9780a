import BigIntegerModule
import Federated
import Foundation
import LabRandom
import Transport

/// One client of a deployed federated run: dials the server, answers its rounds with the
/// simulation's client code (`FederatedSimulation.clientRound`, `encodedContribution`,
/// `PairwiseMasking`), and returns when the server says the run is over.
///
/// The client is stateless between rounds (every draw comes from the round's named streams), so
/// when the server goes away (a restart) it dials again, for up to the connect timeout, and
/// answers whatever round the restarted server asks next.
///
/// Secrets (X25519 keys, self-mask seeds, Shamir shares) come from the OS CSPRNG, live for one
/// round and are never logged; shares for a peer are AES-GCM-sealed under a key agreed with that
/// peer's second public key, so the relaying server cannot read them. A client refuses to reveal
/// both shares of one peer (the self-mask seed of a survivor and the secret key of a dropout).
public enum FederatedClient {
    /// What a client does wrong on purpose, for tests of the server's recovery.
    public enum Fault: Sendable, Equatable {
        /// After sending its shares in `round`, closes its connection and stops (a client lost
        /// mid-round, after the setup).
        case disconnectAfterShares(round: Int)
        /// After sending its shares in `round`, calls `pause` (a test then kills the process).
        case pauseAfterShares(round: Int)
        /// In `round`, answers with bytes that are no message.
        case malformed(round: Int)
        /// In `round`, announces a frame over the server's size limit.
        case oversized(round: Int)
        /// In `round`, sends an update (or contribution) one value short.
        case wrongShape(round: Int)
        /// In `round`, never answers: calls `pause` instead.
        case silent(round: Int)

        var round: Int {
            switch self {
            case let .disconnectAfterShares(r), let .pauseAfterShares(r), let .malformed(r), let .oversized(r), let .wrongShape(r),
                 let .silent(r): return r
            }
        }
    }

    /// Runs client `k` of `simulation` until the server finishes the run; `strategy` gives the
    /// contribution in fixed-point and secure rounds. Returns the rounds it answered.
    ///
    /// The caller runs BLAS on one thread, as every client of the simulation trains, so that each
    /// matrix product is computed the same way (`FederatedDeploymentSpec.runClient` does).
    @discardableResult
    public static func run(
        client k: Int, simulation: FederatedSimulation, strategy: any AggregationStrategy, random: LabRandom,
        deployment: FederatedDeployment, fault: Fault? = nil, pause: @escaping @Sendable () -> Void = {},
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> Int {
        try simulation.checkDeployable()
        guard (0..<simulation.partition.clientCount).contains(k) else {
            throw FederatedNetworkError("--client \(k): the spec has clients 0…\(simulation.partition.clientCount - 1)")
        }
        let credentials = try deployment.clientCredentials(k)
        var limits = deployment.limits
        limits.receiveTimeout = deployment.clientIdleTimeout
        var session = Session(client: k, simulation: simulation, strategy: strategy, random: random, fault: fault, pause: pause)
        var answered = 0
        while true {
            let mesh = try Mesh.establish(
                selfID: FederatedDeployment.clientID(k), listen: nil, accept: [], dial: [deployment.serverAddress],
                credentials: credentials, limits: limits)
            defer { mesh.close() }
            do {
                if try session.serve(mesh: mesh, server: deployment.serverID, answered: &answered) { return answered }
                return answered  // stopped by a fault
            } catch let error as TransportError {
                switch error {
                case .peerClosed, .connectionFailed:
                    log("client-\(k): the server went away (\(error)); dialling again")
                    mesh.close()
                    continue
                default:
                    throw FederatedNetworkError("client-\(k): \(error)")
                }
            }
        }
    }

    /// One connection's worth of rounds.
    struct Session {
        let client: Int
        let simulation: FederatedSimulation
        let strategy: any AggregationStrategy
        let random: LabRandom
        let malicious: Set<Int>
        let fault: Fault?
        let pause: @Sendable () -> Void
        let d: Int

        init(client: Int, simulation: FederatedSimulation, strategy: any AggregationStrategy, random: LabRandom, fault: Fault?,
             pause: @escaping @Sendable () -> Void) {
            self.client = client
            self.simulation = simulation
            self.strategy = strategy
            self.random = random
            self.fault = fault
            self.pause = pause
            malicious = Set(simulation.maliciousClients(random: random))
            d = simulation.architecture.parameterCount
        }

        /// This round's secure-aggregation state.
        struct Secure {
            var round: Int
            var local: LocalTraining
            var global: [Float]
            var threshold: Int
            var maskKey = PairwiseKeyAgreement.SecretKey.generate()
            var encryptionKey = PairwiseKeyAgreement.SecretKey.generate()
            var participants: [Int] = []
            var maskKeys: [[UInt8]] = []
            /// The share-encryption public keys the server relayed, by client.
            var encryptionKeys: [Int: [UInt8]] = [:]
            var setup: PairwiseMasking.ParticipantSetup?
            /// The shares this client holds, by participant: (secret-key share, self-mask-seed share).
            var held: [Int: (BigInteger, BigInteger)] = [:]
            var sharers: [Int] = []
        }

        /// Answers the server until it finishes the run (true) or a fault stops this client (false).
        mutating func serve(mesh: Mesh, server: String, answered: inout Int) throws -> Bool {
            var secure: Secure?
            while true {
                let frame = try mesh.receive(from: server)
                let message = try frame.withUnsafeBytes { (raw) throws(WireError) in
                    try ServerMessage.decode(raw, parameters: d, clientCount: simulation.partition.clientCount)
                }
                let reply: ClientMessage
                switch message {
                case .finish:
                    return true
                case let .train(round, contributions, local, global):
                    answered += 1
                    if let (result, loss) = try simulation.clientRound(client, round: round, local: local, global: global, malicious: malicious,
                                                                      random: random) {
                        if contributions {
                            reply = .contribution(round: round, loss: loss, words: try encode(result))
                        } else {
                            reply = .update(round: round, exampleCount: result.exampleCount, loss: loss, update: result.update)
                        }
                    } else {
                        reply = .diverged(round: round)
                    }
                case let .secureBegin(round, local, global, participants, threshold):
                    guard participants.contains(client) else { throw FederatedNetworkError("round \(round + 1): the server left this client out of its own round") }
                    answered += 1
                    let s = Secure(round: round, local: local, global: global, threshold: threshold)
                    secure = s
                    reply = .keys(round: round, maskKey: s.maskKey.publicKey, encryptionKey: s.encryptionKey.publicKey)
                case let .secureKeys(round, participants, maskKeys, encryptionKeys):
                    guard var s = secure, s.round == round, let me = participants.firstIndex(of: client),
                          maskKeys[me] == s.maskKey.publicKey, encryptionKeys[me] == s.encryptionKey.publicKey,
                          participants.count >= s.threshold else {
                        throw FederatedNetworkError("round \(round + 1): the server relayed keys that do not fit this client's round")
                    }
                    let shamir = try ShamirSharing(modulus: PairwiseMasking.shareModulus, threshold: s.threshold)
                    let setup = PairwiseMasking.setUp(participants: participants.count, shamir: shamir, secretKey: s.maskKey)
                    var boxes: [[UInt8]] = []
                    for (j, peer) in participants.enumerated() {
                        if j == me { boxes.append([]); continue }
                        let key = try PairwiseKeyAgreement.derive(.shareEncryption, secretKey: s.encryptionKey, peerPublicKey: encryptionKeys[j],
                                                                  own: client, peer: peer)
                        let plain = try Self.shareBytes(setup.secretKeyShares[j]) + Self.shareBytes(setup.selfMaskSeedShares[j])
                        boxes.append(try key.seal(plain, context: Self.context(round: round, from: client, to: peer)))
                    }
                    s.participants = participants
                    s.maskKeys = maskKeys
                    s.encryptionKeys = Dictionary(uniqueKeysWithValues: zip(participants, encryptionKeys))
                    s.setup = setup
                    s.held[client] = (setup.secretKeyShares[me], setup.selfMaskSeedShares[me])
                    secure = s
                    reply = .shares(round: round, boxes: boxes)
                    try send(reply, mesh: mesh, server: server)
                    switch fault {
                    case .disconnectAfterShares(round)?:
                        mesh.close()
                        return false
                    case .pauseAfterShares(round)?:
                        pause()
                        return false
                    default:
                        continue
                    }
                case let .secureShares(round, sharers, boxes):
                    guard var s = secure, s.round == round, let setup = s.setup, sharers.contains(client),
                          Set(sharers).isSubset(of: s.participants), sharers.count >= s.threshold else {
                        throw FederatedNetworkError("round \(round + 1): the server relayed shares that do not fit this client's round")
                    }
                    guard boxes.count == sharers.count else {
                        throw FederatedNetworkError("round \(round + 1): \(boxes.count) share boxes for \(sharers.count) sharers")
                    }
                    for (u, box) in zip(sharers, boxes) where u != client {
                        let key = try PairwiseKeyAgreement.derive(.shareEncryption, secretKey: s.encryptionKey, peerPublicKey: try peerEncryptionKey(u, s),
                                                                  own: client, peer: u)
                        let plain = try key.open(box, context: Self.context(round: round, from: u, to: client))
                        guard plain.count == 2 * PairwiseMasking.shareBytes else {
                            throw FederatedNetworkError("round \(round + 1): client-\(u)'s shares have \(plain.count) bytes")
                        }
                        s.held[u] = (BigInteger(bigEndianBytes: plain[0..<PairwiseMasking.shareBytes]),
                                     BigInteger(bigEndianBytes: plain[PairwiseMasking.shareBytes...]))
                    }
                    s.sharers = sharers
                    secure = s
                    if let (result, loss) = try simulation.clientRound(client, round: round, local: s.local, global: s.global, malicious: malicious,
                                                                      random: random) {
                        let words = try encode(result)
                        let keys = sharers.map { s.maskKeys[s.participants.firstIndex(of: $0)!] }
                        let y = try PairwiseMasking.maskedInput(words, participant: sharers.firstIndex(of: client)!, secretKey: setup.secretKey,
                                                                publicKeys: keys, selfMaskSeed: setup.selfMaskSeed)
                        reply = .masked(round: round, loss: loss, words: y)
                    } else {
                        reply = .diverged(round: round)
                    }
                case let .secureUnmask(round, survivors, dropped):
                    guard let s = secure, s.round == round, survivors.contains(client),
                          Set(survivors).isDisjoint(with: dropped), Set(survivors).union(dropped) == Set(s.sharers) else {
                        throw FederatedNetworkError("round \(round + 1): the unmasking request does not fit this round's sharers (refused: it could reveal both shares of a client)")
                    }
                    var shares: [[UInt8]] = []
                    for u in survivors { shares.append(try Self.shareBytes(s.held[u]!.1)) }
                    for v in dropped { shares.append(try Self.shareBytes(s.held[v]!.0)) }
                    secure = nil
                    reply = .unmaskShares(round: round, shares: shares)
                }
                if let fault, fault.round == message.round, try misbehave(fault, reply: reply, mesh: mesh, server: server) { return false }
                try send(reply, mesh: mesh, server: server)
            }
        }

        /// Sends what `fault` says instead of `reply` when `reply` is the round's result; true
        /// when the client is to stop.
        func misbehave(_ fault: Fault, reply: ClientMessage, mesh: Mesh, server: String) throws -> Bool {
            switch reply {
            case .update, .contribution, .masked: break
            default: return false
            }
            switch fault {
            case .malformed:
                try mesh.send([0xFF, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06], to: server)
            case .oversized:
                let announced = UInt32(min(Int(UInt32.max), mesh.limits.maximumFrameBytes + 1))
                try mesh.unsafeSendUnframed((0..<4).map { UInt8(truncatingIfNeeded: announced >> (8 * (3 - UInt32($0)))) } + [1, 2, 3], to: server)
            case .wrongShape:
                switch reply {
                case let .update(r, n, loss, u): try send(.update(round: r, exampleCount: n, loss: loss, update: Array(u.dropLast())), mesh: mesh, server: server)
                case let .contribution(r, loss, w): try send(.contribution(round: r, loss: loss, words: Array(w.dropLast())), mesh: mesh, server: server)
                case let .masked(r, loss, w): try send(.masked(round: r, loss: loss, words: Array(w.dropLast())), mesh: mesh, server: server)
                default: return false
                }
            case .silent:
                pause()
            case .disconnectAfterShares, .pauseAfterShares:
                return false
            }
            // Wait for the server to hang up, so that what was sent reaches it.
            _ = try? mesh.receive(from: server)
            return true
        }

        /// The encryption public key of participant `u`, as the server relayed it.
        func peerEncryptionKey(_ u: Int, _ s: Secure) throws -> [UInt8] {
            guard let key = s.encryptionKeys[u] else { throw FederatedNetworkError("no encryption key of client-\(u)") }
            return key
        }

        func encode(_ result: ClientResult) throws -> [UInt64] {
            guard let summing = strategy as? any SummingStrategy else {
                throw FederatedNetworkError("strategy \(strategy.name) needs individual updates; it cannot report contributions")
            }
            var format: FixedPointFormat
            switch simulation.configuration.aggregation {
            case let .fixedPoint(f), let .secure(_, f): format = f
            case .plaintext: throw FederatedNetworkError("the spec aggregates in plaintext; the server asked for contributions")
            }
            return try FederatedSimulation.encodedContribution(of: result, strategy: summing, format: format)
        }

        func send(_ message: ClientMessage, mesh: Mesh, server: String) throws {
            try mesh.send(message.encoded(), to: server)
        }

        /// A share as `PairwiseMasking.shareBytes` big-endian bytes.
        static func shareBytes(_ share: BigInteger) throws -> [UInt8] {
            guard let b = share.bigEndianBytes(count: PairwiseMasking.shareBytes) else {
                throw FederatedNetworkError("a share does not fit \(PairwiseMasking.shareBytes) bytes")
            }
            return b
        }

        /// What a sealed share box is bound to: the round, the sender and the recipient.
        static func context(round: Int, from u: Int, to v: Int) -> [UInt8] {
            Array("privacy-lab/fl/shares/v1 round \(round) from \(u) to \(v)".utf8)
        }
    }
}
