import BigIntegerModule
import Federated
import Foundation
import LabRandom
import Transport

/// The server of a deployed federated run: the simulation's round loop
/// (`FederatedSimulation.run`) with its clients in other processes, reached over `Transport`
/// (TCP + mutual TLS 1.3) through `RemoteClients`.
///
/// Set-up: the server listens on its address and waits up to the connect timeout for every
/// client `client-0…client-<N−1>`; whoever is there then takes part (a client missing is a
/// dropout whenever it is sampled). After every finished round it writes its state (global
/// model, strategy state, records) atomically to `statePath`; a restarted server reads it back and
/// resumes with the next round, so a run killed at any point ends with the model an unbroken run
/// gives. At the end every client still connected is told to finish.
///
/// Failures: a client that closes its connection, stays silent past the receive timeout, or sends
/// a malformed, oversized, wrong-shape or out-of-order message is logged (one line naming it and
/// what was wrong), disconnected and counted as a failure of the round (`droppedOut` or
/// `rejected`); it takes no further part. Secure rounds recover its masks from the survivors'
/// Shamir shares.
public enum FederatedServer {
    /// Runs `simulation`'s rounds with `strategy`; `run` keys the state file (the spec and seed);
    /// `afterRound` is called with each finished round's index once its state is written.
    public static func run<S: AggregationStrategy>(
        simulation: FederatedSimulation, strategy: inout S, random: LabRandom, deployment: FederatedDeployment, run key: String,
        log: @escaping @Sendable (String) -> Void = { _ in }, observer: ServerObserver? = nil,
        progress: (@Sendable (RoundRecord) -> Void)? = nil, afterRound: (@Sendable (Int) -> Void)? = nil
    ) async throws -> FederatedHistory {
        try simulation.checkDeployable()
        try simulation.check(strategy)
        let resume = try deployment.statePath.flatMap { try RoundStateFile.load($0, run: key) }
        if let resume, resume.nextRound >= simulation.configuration.rounds {
            log("the run finished earlier (state \(deployment.statePath!)); its outcome follows")
            return try await simulation.run(strategy: &strategy, clients: InProcessClients(simulation: simulation, random: random), random: random,
                                            resume: resume)
        }
        if let resume { log("resuming from round \(resume.nextRound + 1) (state \(deployment.statePath!))") }
        let n = simulation.partition.clientCount
        let ids = (0..<n).map(FederatedDeployment.clientID)
        let mesh = try Mesh.establish(
            selfID: deployment.serverID, listen: deployment.serverAddress, accept: ids, dial: [],
            credentials: try deployment.serverCredentials(), limits: deployment.limits, minimumAccepted: 1)
        defer { mesh.close() }
        let missing = ids.filter { !mesh.isAvailable($0) }
        if !missing.isEmpty { log("\(missing.count) client(s) did not connect and count as dropouts: \(missing.joined(separator: ", "))") }
        let pool = RemoteClients(mesh: mesh, simulation: simulation, log: log)
        let statePath = deployment.statePath
        let history = try await simulation.run(
            strategy: &strategy, clients: pool, random: random, resume: resume, observer: observer, progress: progress,
            checkpoint: { c in
                if let statePath { try RoundStateFile.save(c, run: key, to: statePath) }
                afterRound?(c.nextRound - 1)
            })
        pool.finish(round: simulation.configuration.rounds)
        return history
    }
}

/// The clients of a deployed run as the round loop sees them: each round's request goes out
/// over the mesh and the reply is collected, client by client, with the receive timeout.
final class RemoteClients: ClientPool, @unchecked Sendable {
    let mesh: Mesh
    let simulation: FederatedSimulation
    let log: @Sendable (String) -> Void
    let parameterCount: Int
    private let lock = NSLock()
    private var gone = Set<Int>()

    init(mesh: Mesh, simulation: FederatedSimulation, log: @escaping @Sendable (String) -> Void) {
        self.mesh = mesh
        self.simulation = simulation
        self.log = log
        parameterCount = simulation.architecture.parameterCount
    }

    private func id(_ k: Int) -> String { FederatedDeployment.clientID(k) }

    private func isAlive(_ k: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return !gone.contains(k) && mesh.isAvailable(id(k))
    }

    /// Leaves client `k` out of the rest of the run, logging why.
    private func drop(_ k: Int, round: Int, _ why: String) {
        lock.lock(); gone.insert(k); lock.unlock()
        log("round \(round + 1): \(id(k)): \(why); left out of the rest of the run")
        mesh.disconnect(id(k))
    }

    private func send(_ message: ServerMessage, to k: Int) -> Int? {
        let bytes = message.encoded()
        do { try mesh.send(bytes, to: id(k)); return bytes.count } catch {
            drop(k, round: message.round, "\(error)")
            return nil
        }
    }

    /// The next message of client `k`, decoded; nil (and `k` dropped, with its failure) when it
    /// fails to come or is refused.
    private func receive(from k: Int, round: Int, expected: [WireKind], items: Int = 0,
                         failures: inout [ClientFailure]) -> (ClientMessage, Int)? {
        do {
            let frame = try mesh.receive(from: id(k))
            let message = try frame.withUnsafeBytes { (raw) throws(WireError) in
                try ClientMessage.decode(raw, expected: expected, round: round, parameters: parameterCount, items: items)
            }
            return (message, frame.count)
        } catch let error as WireError {
            drop(k, round: round, "refused: \(error)")
            failures.append(ClientFailure(client: k, reason: .rejected))
        } catch let error as TransportError {
            switch error {
            case .frameTooLarge, .receiveQueueFull:
                drop(k, round: round, "\(error)")
                failures.append(ClientFailure(client: k, reason: .rejected))
            default:
                drop(k, round: round, "\(error)")
                failures.append(ClientFailure(client: k, reason: .droppedOut))
            }
        } catch {
            drop(k, round: round, "\(error)")
            failures.append(ClientFailure(client: k, reason: .droppedOut))
        }
        return nil
    }

    func finish(round: Int) {
        for k in 0..<simulation.partition.clientCount where isAlive(k) {
            try? mesh.send(ServerMessage.finish(round: round).encoded(), to: id(k))
        }
    }

    func run(_ q: RoundRequest) async throws -> RoundReply {
        var reply = RoundReply()
        for k in q.sampled where q.dropped.contains(k) { reply.failures.append(ClientFailure(client: k, reason: .droppedOut)) }
        var live: [Int] = []
        for k in q.sampled where !q.dropped.contains(k) {
            if isAlive(k) { live.append(k) } else { reply.failures.append(ClientFailure(client: k, reason: .droppedOut)) }
        }
        switch q.reporting {
        case .updates, .contributions:
            let contributions: Bool
            if case .contributions = q.reporting { contributions = true } else { contributions = false }
            let request = ServerMessage.train(round: q.round, contributions: contributions, local: q.local, global: q.global)
            let asked = live.filter { send(request, to: $0) != nil }
            for k in live where !asked.contains(k) { reply.failures.append(ClientFailure(client: k, reason: .droppedOut)) }
            for k in asked {
                guard let (message, _) = receive(from: k, round: q.round, expected: [contributions ? .contribution : .update, .diverged],
                                                 failures: &reply.failures) else { continue }
                switch message {
                case let .update(_, count, loss, update):
                    let expected = simulation.partition.clients[k].count
                    guard count == expected else {
                        drop(k, round: q.round, "refused: update reports \(count) examples, the client holds \(expected)")
                        reply.failures.append(ClientFailure(client: k, reason: .rejected))
                        continue
                    }
                    reply.results.append(ClientResult(client: k, exampleCount: count, update: update))
                    reply.reported.append((k, loss))
                case let .contribution(_, loss, words):
                    reply.contributions.append((k, words))
                    reply.reported.append((k, loss))
                default:
                    reply.failures.append(ClientFailure(client: k, reason: .diverged))
                }
            }
        case let .secure(protocolValue, _, _):
            guard let masking = protocolValue as? PairwiseMasking else {
                throw FederatedNetworkError("secure_aggregation.protocol \(protocolValue.name) is simulated only")
            }
            try secureRound(q, participants: live, masking: masking, reply: &reply)
        }
        return reply
    }

    /// Bonawitz et al.'s four steps with this server as relay (see `Messages.swift`).
    private func secureRound(_ q: RoundRequest, participants: [Int], masking: PairwiseMasking, reply: inout RoundReply) throws {
        let round = q.round
        guard !participants.isEmpty else { return }
        var sent: [Int: Int] = [:], received: [Int: Int] = [:]
        func note(_ k: Int, sent s: Int? = nil, received r: Int? = nil) {
            if let s { sent[k, default: 0] += s }
            if let r { received[k, default: 0] += r }
        }
        // Step 1: keys.
        let t = try masking.threshold(participants: participants.count)
        var asked: [Int] = []
        for k in participants {
            if let b = send(.secureBegin(round: round, local: q.local, global: q.global, participants: participants, threshold: t), to: k) {
                asked.append(k)
                note(k, received: b)
            } else { reply.failures.append(ClientFailure(client: k, reason: .droppedOut)) }
        }
        var p1: [Int] = [], maskKeys: [[UInt8]] = [], encKeys: [[UInt8]] = []
        for k in asked {
            guard let (m, bytes) = receive(from: k, round: round, expected: [.keys], failures: &reply.failures),
                  case let .keys(_, mk, ek) = m else { continue }
            p1.append(k); maskKeys.append(mk); encKeys.append(ek); note(k, sent: bytes)
        }
        guard p1.count >= t else { throw FederatedError.tooFewSurvivors(survivors: p1.count, threshold: t) }
        // Step 2: shares, sealed peer to peer.
        var sharers: [Int] = [], boxes: [Int: [[UInt8]]] = [:]
        var keyed: [Int] = []
        for k in p1 {
            if let b = send(.secureKeys(round: round, participants: p1, maskKeys: maskKeys, encryptionKeys: encKeys), to: k) {
                keyed.append(k); note(k, received: b)
            } else { reply.failures.append(ClientFailure(client: k, reason: .droppedOut)) }
        }
        for k in keyed {
            guard let (m, bytes) = receive(from: k, round: round, expected: [.shares], items: p1.count, failures: &reply.failures),
                  case let .shares(_, b) = m else { continue }
            sharers.append(k); boxes[k] = b; note(k, sent: bytes)
        }
        guard sharers.count >= t else { throw FederatedError.tooFewSurvivors(survivors: sharers.count, threshold: t) }
        let position1 = Dictionary(uniqueKeysWithValues: p1.enumerated().map { ($1, $0) })
        let u2MaskKeys = sharers.map { maskKeys[position1[$0]!] }
        // Step 3: masked inputs.
        var maskers: [Int] = []
        for v in sharers {
            let forV = sharers.map { u in u == v ? [] : boxes[u]![position1[v]!] }
            if let b = send(.secureShares(round: round, sharers: sharers, boxes: forV), to: v) {
                maskers.append(v); note(v, received: b)
            } else { reply.failures.append(ClientFailure(client: v, reason: .droppedOut)) }
        }
        var survivors: [Int] = [], total = [UInt64](repeating: 0, count: parameterCount + 1)
        for k in maskers {
            guard let (m, bytes) = receive(from: k, round: round, expected: [.masked, .diverged], failures: &reply.failures) else { continue }
            note(k, sent: bytes)
            if case let .masked(_, loss, words) = m {
                survivors.append(k)
                RingVector.add(&total, words)
                reply.reported.append((k, loss))
            } else {
                reply.failures.append(ClientFailure(client: k, reason: .diverged))
            }
        }
        guard survivors.count >= t else { throw FederatedError.tooFewSurvivors(survivors: survivors.count, threshold: t) }
        // Step 4: unmasking from the survivors' shares.
        let dropped = sharers.filter { !survivors.contains($0) }
        var holders: [(k: Int, shares: [[UInt8]])] = []
        var unmaskAsked: [Int] = []
        for k in survivors {
            if let b = send(.secureUnmask(round: round, survivors: survivors, dropped: dropped), to: k) { unmaskAsked.append(k); note(k, received: b) }
        }
        var lateFailures: [ClientFailure] = []
        for k in unmaskAsked {
            guard let (m, bytes) = receive(from: k, round: round, expected: [.unmaskShares], items: survivors.count + dropped.count,
                                           failures: &lateFailures),
                  case let .unmaskShares(_, shares) = m else { continue }
            holders.append((k, shares)); note(k, sent: bytes)
        }
        // A survivor lost during unmasking still counts (its masked input is in the sum); it is
        // left out of later rounds.
        guard holders.count >= t else { throw FederatedError.tooFewSurvivors(survivors: holders.count, threshold: t) }
        let used = Array(holders.prefix(t))
        let shamir = try ShamirSharing(modulus: PairwiseMasking.shareModulus, threshold: t)
        let position2 = Dictionary(uniqueKeysWithValues: sharers.enumerated().map { ($1, $0) })
        let clock = ContinuousClock()
        let start = clock.now
        try PairwiseMasking.unmask(
            &total, survivors: survivors.map { position2[$0]! }, dropped: dropped.map { position2[$0]! }, publicKeys: u2MaskKeys, shamir: shamir,
            selfMaskSeedShares: { u in
                let index = survivors.firstIndex(of: sharers[u])!
                return used.map { (x: position1[$0.k]! + 1, y: BigInteger(bigEndianBytes: $0.shares[index])) }
            },
            secretKeyShares: { v in
                let index = survivors.count + dropped.firstIndex(of: sharers[v])!
                return used.map { (x: position1[$0.k]! + 1, y: BigInteger(bigEndianBytes: $0.shares[index])) }
            })
        let elapsed = clock.now - start
        let cost = SecureAggregationCost(
            clientBytesSent: p1.map { sent[$0] ?? 0 }, clientBytesReceived: p1.map { received[$0] ?? 0 }, clientSeconds: [],
            serverBytesReceived: sent.values.reduce(0, +), serverBytesSent: received.values.reduce(0, +),
            serverSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        reply.secureSum = SecureSum(sum: total, cost: cost)
    }
}
