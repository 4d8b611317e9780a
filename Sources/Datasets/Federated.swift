// Federated partitions of a dataset over clients: IID, Dirichlet label skew, label shards,
// quantity skew. All deterministic from a passed-in LabRandom.
import LabRandom

/// Why a partition could not be drawn as asked.
public struct PartitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The example indices held by each client. Lists are disjoint and sorted; together they cover
/// the partitioned examples exactly once.
public struct FederatedPartition: Sendable, Equatable, Codable {
    public let clients: [[Int]]

    public init(clients: [[Int]]) {
        self.clients = clients.map { $0.sorted() }
    }

    public var clientCount: Int { clients.count }

    /// `clientCount × classCount` counts: row k holds how many examples of each class client k has.
    public func classCounts(labels: [Int32], classCount: Int) -> [[Int]] {
        clients.map { indices in
            var counts = [Int](repeating: 0, count: classCount)
            for i in indices { counts[Int(labels[i])] += 1 }
            return counts
        }
    }

    /// A per-client summary table: client, size, and count per class.
    public func summary(labels: [Int32], classCount: Int) -> String {
        let counts = classCounts(labels: labels, classCount: classCount)
        let header = ["client", "size"] + (0..<classCount).map { "c\($0)" }
        var lines = [header.joined(separator: "\t")]
        for (k, row) in counts.enumerated() {
            lines.append(([String(k), String(clients[k].count)] + row.map(String.init)).joined(separator: "\t"))
        }
        return lines.joined(separator: "\n")
    }
}

/// Ways to split examples among simulated federated clients.
///
/// - `iid`: a random permutation cut into `clients` parts whose sizes differ by at most one.
/// - `dirichletLabelSkew`: for each class, proportions p ~ Dir(α·1) over clients, and the class's
///   shuffled examples are cut in those proportions (Hsu, Qi, Brown, "Measuring the Effects of
///   Non-Identical Data Distribution for Federated Visual Classification", 2019). Small α
///   (0.1) gives clients dominated by few classes; large α (100) approaches IID.
/// - `shards`: sort by label, cut into `clients × shardsPerClient` equal shards, deal each client
///   `shardsPerClient` random shards (McMahan et al., "Communication-Efficient Learning of Deep
///   Networks from Decentralized Data", AISTATS 2017: 200 shards of 300 for 100 clients).
/// - `quantitySkew`: client sizes proportional to Dir(α·1) (at least `minimumPerClient` each),
///   labels IID.
///
/// - Complexity: O(n log n) for n examples.
public enum FederatedPartitioner {
    public static func iid(count: Int, clients: Int, using random: inout LabRandom) -> FederatedPartition {
        precondition(clients >= 1 && count >= 0, "iid: need at least one client")
        let order = random.permutation(count)
        var parts: [[Int]] = []
        var start = 0
        for k in 0..<clients {
            let size = count / clients + (k < count % clients ? 1 : 0)
            parts.append(Array(order[start ..< start + size]))
            start += size
        }
        return FederatedPartition(clients: parts)
    }

    /// Dirichlet(α) label skew; redraws (up to `maxAttempts` times, from the same generator)
    /// until every client has at least `minimumPerClient` examples.
    ///
    /// - Throws: `PartitionError` when no draw met the minimum.
    public static func dirichletLabelSkew(
        labels: [Int32], classCount: Int, clients: Int, alpha: Double, minimumPerClient: Int = 0, maxAttempts: Int = 1000,
        using random: inout LabRandom
    ) throws(PartitionError) -> FederatedPartition {
        precondition(clients >= 1 && alpha > 0, "dirichletLabelSkew: need clients ≥ 1 and α > 0")
        let byClass = Splits.indicesByClass(labels, classCount: classCount)
        for _ in 0..<maxAttempts {
            var parts = [[Int]](repeating: [], count: clients)
            for c in 0..<classCount where !byClass[c].isEmpty {
                var members = byClass[c]
                random.shuffle(&members)
                let p = Sampling.symmetricDirichlet(alpha: alpha, count: clients, using: &random)
                let sizes = Sampling.apportion(members.count, weights: p)
                var start = 0
                for k in 0..<clients {
                    parts[k] += members[start ..< start + sizes[k]]
                    start += sizes[k]
                }
            }
            if parts.allSatisfy({ $0.count >= minimumPerClient }) { return FederatedPartition(clients: parts) }
        }
        throw PartitionError(message: "dirichletLabelSkew: no draw in \(maxAttempts) attempts gave every one of \(clients) clients at least \(minimumPerClient) examples (α = \(alpha), \(labels.count) examples)")
    }

    /// McMahan et al.'s pathological non-IID shards.
    public static func shards(labels: [Int32], clients: Int, shardsPerClient: Int = 2, using random: inout LabRandom) -> FederatedPartition {
        let shardCount = clients * shardsPerClient
        precondition(clients >= 1 && shardsPerClient >= 1 && shardCount <= max(labels.count, 1),
                     "shards: need 1 ≤ clients × shardsPerClient ≤ examples")
        // Random order within each label, then grouped by label (a stable bucket sort).
        let order = random.permutation(labels.count)
        var buckets = [[Int]](repeating: [], count: Int(labels.max() ?? 0) + 1)
        for i in order { buckets[Int(labels[i])].append(i) }
        let sorted = buckets.flatMap { $0 }
        let dealing = random.permutation(shardCount)
        var parts = [[Int]](repeating: [], count: clients)
        for (position, shard) in dealing.enumerated() {
            let lo = shard * labels.count / shardCount, hi = (shard + 1) * labels.count / shardCount
            parts[position / shardsPerClient] += sorted[lo ..< hi]
        }
        return FederatedPartition(clients: parts)
    }

    /// Quantity skew: sizes ∝ Dir(α), each at least `minimumPerClient`, examples IID.
    public static func quantitySkew(
        count: Int, clients: Int, alpha: Double, minimumPerClient: Int = 1, using random: inout LabRandom
    ) -> FederatedPartition {
        precondition(clients >= 1 && alpha > 0 && minimumPerClient >= 0 && minimumPerClient * clients <= count,
                     "quantitySkew: need clients ≥ 1, α > 0 and minimumPerClient × clients ≤ count")
        let p = Sampling.symmetricDirichlet(alpha: alpha, count: clients, using: &random)
        let extra = Sampling.apportion(count - minimumPerClient * clients, weights: p)
        let order = random.permutation(count)
        var parts: [[Int]] = []
        var start = 0
        for k in 0..<clients {
            let size = minimumPerClient + extra[k]
            parts.append(Array(order[start ..< start + size]))
            start += size
        }
        return FederatedPartition(clients: parts)
    }
}
