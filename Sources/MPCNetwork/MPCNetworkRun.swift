import Foundation
import SecretSharing
import Transport

/// What one party's run produced and cost.
public struct MPCRunReport: Sendable {
    /// The party's identity.
    public var party: String
    public var result: MPCJobResult
    /// Rounds, bytes and seconds of the whole job at this party (after connecting); with
    /// several repetitions, the last one's.
    public var cost: OperationCost
    /// Every repetition's cost, in order (`runParty(spec:id:repetitions:)`).
    public var costs: [OperationCost]
    /// Dealer-free (Paillier) runs: seconds and bytes sent generating triples, at this party.
    public var offlineSeconds: Double?
    public var offlineBytesSent: Int?
}

/// What the dealer process served.
public struct MPCDealerReport: Sendable {
    /// Requests served, over all parties.
    public var requests: Int
    /// Bytes of correlations sent, over all parties.
    public var bytesSent: Int
}

/// Running a spec's parties as processes (one call per process) and, for comparison, all of
/// them in one process.
///
/// Topology: party `i` dials every party `j < i` and accepts every `j > i`; every party dials the
/// dealer (when there is one), which accepts them all. So each pair has one TLS connection, and
/// each node listens only when someone dials it, on exactly its spec address.
public enum MPCNetworkRun {
    /// Runs party `id` of `spec` to the end: connects, runs `MPCJob`, returns its report.
    ///
    /// `repetitions` > 1 runs the job that many times over the same connections (for
    /// benchmarks: later runs are warm), each after a one-word barrier that is not counted, so
    /// that no run's time includes a peer's start-up. Every party must pass the same count. The
    /// result is the last run's: later runs draw later masks and correlations, so only the first
    /// run reproduces `runInProcess` bit for bit.
    /// - Throws: `MPCSpecError`, `MPCInputError`, `TransportError` or `SecretSharingError`, each
    ///   naming what is wrong (a file and field, a peer, a limit); never a secret value.
    public static func runParty(spec: MPCSpec, id: String, repetitions: Int = 1) throws -> MPCRunReport {
        guard (1...1000).contains(repetitions) else {
            throw MPCSpecError(file: spec.file, field: "", message: "repetitions must lie in 1…1000, got \(repetitions)")
        }
        guard let me = spec.index(of: id) else {
            throw MPCSpecError(file: spec.file, field: "parties", message:
                "'\(id)' is not a party (parties: \(spec.parties.map(\.node.id).joined(separator: ", ")))")
        }
        let node = spec.parties[me].node
        let input = try spec.parties[me].input.map { (path) throws(MPCInputError) in try InputTable.read(path) }
        let model = try spec.parties[me].model.map { (path) throws(MPCInputError) in try MLPModel.read(path) }
        let credentials = try TLSCredentials(certificateFile: node.certificate, privateKeyFile: node.key, caFile: spec.ca)
        var dial = spec.parties[..<me].map(\.node.address)
        var dealerID: String?
        if case let .dealer(d, _) = spec.correlations {
            dial.append(d.address)
            dealerID = d.id
        }
        let mesh = try Mesh.establish(
            selfID: id, listen: node.address, accept: spec.parties[(me + 1)...].map(\.node.id), dial: dial,
            credentials: credentials, limits: spec.limits)
        defer { mesh.close() }
        let ids = spec.parties.map(\.node.id)
        let channel = NetworkChannel(mesh: mesh, ids: ids, partyIndex: me)
        let provider: any TripleProvider
        switch spec.correlations {
        case let .insecureSharedSeed(seed):
            provider = TrustedDealer.insecureSeeded(partyCount: ids.count, seed: seed).provider(for: me)
        case .dealer:
            provider = RemoteDealerProvider(exchange: dealerExchange(mesh: mesh, dealer: dealerID!))
        case let .paillier(bits):
            // Its own channel object over the same connections: its rounds and bytes are counted
            // apart from the online phase's (messages stay in order: both parties make the same
            // requests at the same points of the protocol).
            provider = try PaillierTripleProvider(link: NetworkChannel(mesh: mesh, ids: ids, partyIndex: me), keyBits: bits)
        }
        let encoder = FixedPointEncoder(fractionalBits: spec.fractionalBits)
        let truncation: TruncationMethod
        if case .paillier = spec.correlations { truncation = .localTwoParty } else { truncation = .dealerAssisted }
        let party: Party
        if let seed = spec.insecureMaskSeed {
            party = try Party.insecureSeeded(channel: channel, provider: provider, seed: seed, encoder: encoder, truncation: truncation)
        } else {
            party = try Party(channel: channel, provider: provider, encoder: encoder, truncation: truncation)
        }
        // Seed-compressed sharing from here on (one round, before any timed run).
        try party.establishPairwiseKeys()
        var costs: [OperationCost] = []
        var result: MPCJobResult?
        for r in 0..<repetitions {
            if repetitions > 1 { _ = try channel.broadcastExchange([UInt64(r)]) }
            let (value, cost) = try party.measure { () throws -> MPCJobResult in
                try MPCJob.run(party: party, input: input, model: model, parameters: MPCJobParameters(spec))
            }
            result = value
            costs.append(cost)
        }
        let paillier = provider as? PaillierTripleProvider
        return MPCRunReport(party: id, result: result!, cost: costs.last!, costs: costs,
                            offlineSeconds: paillier?.offlineSeconds, offlineBytesSent: paillier?.offlineBytesSent)
    }

    /// A request–answer exchange with the dealer over `mesh`.
    static func dealerExchange(mesh: Mesh, dealer: String) -> ([UInt64]) throws(SecretSharingError) -> [UInt64] {
        { (request: [UInt64]) throws(SecretSharingError) -> [UInt64] in
            do {
                try WordCoding.withLittleEndianBytes(request) { (raw) throws(TransportError) in try mesh.send(raw, to: dealer) }
                let frame = try mesh.receive(from: dealer)
                guard let words = WordCoding.words(frame) else {
                    throw SecretSharingError.providerFailure("the dealer sent a frame that is not whole words")
                }
                return words
            } catch let error as TransportError {
                throw .providerFailure("dealer '\(dealer)': \(error)")
            } catch let error as SecretSharingError {
                throw error
            } catch {
                throw .providerFailure("dealer '\(dealer)': \(error)")
            }
        }
    }

    /// Runs the spec's dealer until every party has disconnected: each party's requests are
    /// answered on a thread of its own, in that party's order. A party whose connection fails
    /// or who sends a malformed request is disconnected; the others are still served (so they
    /// learn of the failure from that party, not from the dealer), and the dealer then fails
    /// naming the first party at fault.
    public static func runDealer(spec: MPCSpec) throws -> MPCDealerReport {
        guard case let .dealer(node, seed) = spec.correlations else {
            throw MPCSpecError(file: spec.file, field: "correlations.source", message: "the spec has no dealer process (source is not dealer)")
        }
        let credentials = try TLSCredentials(certificateFile: node.certificate, privateKeyFile: node.key, caFile: spec.ca)
        let ids = spec.parties.map(\.node.id)
        let mesh = try Mesh.establish(
            selfID: node.id, listen: node.address, accept: ids, dial: [], credentials: credentials, limits: spec.limits)
        defer { mesh.close() }
        let dealer = seed.map { TrustedDealer.insecureSeeded(partyCount: ids.count, seed: $0) } ?? TrustedDealer(partyCount: ids.count)
        let maximumWords = spec.limits.maximumFrameBytes / 8
        let outcome = DealerOutcome(parties: ids.count)
        let group = DispatchGroup()
        for (p, id) in ids.enumerated() {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while true {
                    let words: [UInt64]
                    do {
                        let frame = try mesh.receive(from: id)
                        guard let w = WordCoding.words(frame) else {
                            outcome.fail(p, "'\(id)' sent a frame that is not whole words")
                            mesh.disconnect(id)
                            return
                        }
                        words = w
                    } catch TransportError.peerClosed {
                        return  // the party is done
                    } catch {
                        outcome.fail(p, "\(error)")
                        mesh.disconnect(id)
                        return
                    }
                    do {
                        let answer = try dealer.answer(words, party: p, maximumWords: maximumWords)
                        try WordCoding.withLittleEndianBytes(answer) { (raw) throws(TransportError) in try mesh.send(raw, to: id) }
                        outcome.served(p, bytes: 8 * answer.count)
                    } catch {
                        outcome.fail(p, "'\(id)': \(error)")
                        mesh.disconnect(id)
                        return
                    }
                }
            }
            thread.start()
        }
        group.wait()
        return try outcome.report()
    }

    /// Runs every party of `spec` in this process (threads over an `InMemoryNetwork`), each with
    /// its own input file: the reference a networked run must match bit for bit when the spec's
    /// seeds are set (insecure-shared-seed correlations, or a seeded dealer, and
    /// `insecure-mask-seed`).
    public static func runInProcess(spec: MPCSpec) throws -> [MPCJobResult] {
        let inputs = try spec.parties.map { (p) throws -> InputTable? in try p.input.map { try InputTable.read($0) } }
        let models = try spec.parties.map { (p) throws -> MLPModel? in try p.model.map { try MLPModel.read($0) } }
        let dealerSeed: UInt64?
        switch spec.correlations {
        case let .insecureSharedSeed(seed): dealerSeed = seed
        case let .dealer(_, seed): dealerSeed = seed
        case .paillier: dealerSeed = nil
        }
        let n = spec.parties.count
        let dealer = dealerSeed.map { TrustedDealer.insecureSeeded(partyCount: n, seed: $0) } ?? TrustedDealer(partyCount: n)
        let encoder = FixedPointEncoder(fractionalBits: spec.fractionalBits)
        let parameters = MPCJobParameters(spec)
        let maskSeed = spec.insecureMaskSeed
        return try InMemoryNetwork.run(partyCount: n) { channel in
            let provider = dealer.provider(for: channel.partyIndex)
            let party = try maskSeed.map {
                try Party.insecureSeeded(channel: channel, provider: provider, seed: $0, encoder: encoder)
            } ?? Party(channel: channel, provider: provider, encoder: encoder)
            try party.establishPairwiseKeys()
            return try MPCJob.run(party: party, input: inputs[channel.partyIndex], model: models[channel.partyIndex],
                                  parameters: parameters)
        }
    }
}

/// What the dealer's threads report.
private final class DealerOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var requests = 0
    private var bytes = 0
    private var failures: [(Int, String)] = []

    init(parties: Int) {}

    func served(_ party: Int, bytes b: Int) {
        lock.lock(); requests += 1; bytes += b; lock.unlock()
    }

    func fail(_ party: Int, _ message: String) {
        lock.lock(); failures.append((party, message)); lock.unlock()
    }

    func report() throws -> MPCDealerReport {
        lock.lock(); defer { lock.unlock() }
        if let (party, message) = failures.first {
            throw SecretSharingError.peerFailure(party: party, reason: message)
        }
        return MPCDealerReport(requests: requests, bytesSent: bytes)
    }
}
