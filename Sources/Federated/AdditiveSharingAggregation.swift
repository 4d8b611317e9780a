import SecretSharing

/// Secure aggregation by additive secret sharing among K non-colluding aggregation servers
/// (the two-server setting of Prio and of MPC aggregation; Corrigan-Gibbs, Boneh, "Prio", NSDI 2017).
///
/// Client u splits x_u into K shares over Z(2^64): K − 1 uniform vectors drawn from a
/// `MaskGenerator` keyed by the OS CSPRNG, and x_u minus their sum; server j receives share j.
/// Each server adds the shares it received (a dropped client simply sends none, so dropouts need
/// no recovery), then the servers open the sum of their local sums with one
/// `Channel.openAdditive` round over an in-memory network that counts the bytes. Any K − 1
/// servers together see only uniform vectors.
///
/// - Complexity: per client (K − 1)·L PRG words and K·L words sent; per server L·|S| additions and
///   (K − 1)·L words sent in the opening round.
public struct AdditiveSharingAggregation: SecureSummation {
    public let servers: Int
    public var name: String { "additive-sharing" }

    public init(servers: Int = 2) throws(FederatedError) {
        guard servers >= 2 else { throw .invalidConfiguration(field: "secure_aggregation.servers", reason: "must be ≥ 2, got \(servers)") }
        self.servers = servers
    }

    public func sum(inputs: [[UInt64]], dropouts: Set<Int>) throws -> SecureSum {
        let m = inputs.count
        guard m >= 1 else { throw FederatedError.protocolFailure("no participants") }
        let length = inputs[0].count
        let k = servers
        var cost = SecureAggregationCost(clientBytesSent: [Int](repeating: 0, count: m), clientBytesReceived: [Int](repeating: 0, count: m),
                                         clientSeconds: [Double](repeating: 0, count: m))
        var serverSums = [[UInt64]](repeating: [UInt64](repeating: 0, count: length), count: k)
        var serverSeconds = 0.0
        for u in 0..<m where !dropouts.contains(u) {
            let (shares, seconds) = timed { () -> [[UInt64]] in
                var prg = MaskGenerator()
                var last = inputs[u]
                var shares: [[UInt64]] = []
                for _ in 0..<(k - 1) {
                    let share = prg.words(length)
                    RingVector.subtract(&last, share)
                    shares.append(share)
                }
                shares.append(last)
                return shares
            }
            cost.clientSeconds[u] = seconds
            cost.clientBytesSent[u] = k * 8 * length
            cost.serverBytesReceived += k * 8 * length
            let (_, addSeconds) = timed { for j in 0..<k { RingVector.add(&serverSums[j], shares[j]) } }
            serverSeconds += addSeconds
        }
        let sums = serverSums
        let (opened, openSeconds) = try timed {
            try InMemoryNetwork.run(partyCount: k) { channel in
                let total = try channel.openAdditive(sums[channel.partyIndex])
                return (total, channel.statistics.bytesSent)
            }
        }
        serverSeconds += openSeconds / Double(k)  // the servers open in parallel
        for (_, sent) in opened {
            cost.serverBytesSent += sent
            cost.serverBytesReceived += sent
        }
        guard let first = opened.first?.0, opened.allSatisfy({ $0.0 == first }) else {
            throw FederatedError.protocolFailure("the aggregation servers opened different sums")
        }
        cost.serverSeconds = serverSeconds
        return SecureSum(sum: first, cost: cost)
    }
}
