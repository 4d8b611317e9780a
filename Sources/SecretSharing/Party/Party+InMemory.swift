// MARK: Running all parties in one process.

/// How the parties of a local run are connected.
public enum Transport: String, Sendable, CaseIterable {
    /// `InMemoryNetwork`: messages passed by reference, counted as bytes.
    case inMemory
    /// `SocketNetwork`: Unix-domain socket pairs, every byte through the kernel.
    case socketPairs
}

extension Party {
    /// Runs `body` at each of `partyCount` parties, each on its own thread, connected by
    /// `transport`, with `dealer` (a fresh `TrustedDealer` by default); masks and the dealer's
    /// randomness come from the OS CSPRNG. Returns each party's result, in party order.
    public static func run<T: Sendable>(
        partyCount: Int, transport: Transport, encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted, dealer: TrustedDealer? = nil,
        _ body: @escaping @Sendable (Party) throws -> T
    ) throws -> [T] {
        let dealer = dealer ?? TrustedDealer(partyCount: partyCount)
        @Sendable func start(_ channel: any Channel) throws -> T {
            let party = try Party(
                channel: channel, provider: dealer.provider(for: channel.partyIndex),
                encoder: encoder, truncation: truncation)
            return try body(party)
        }
        switch transport {
        case .inMemory: return try InMemoryNetwork.run(partyCount: partyCount) { try start($0) }
        case .socketPairs: return try SocketNetwork.run(partyCount: partyCount) { try start($0) }
        }
    }

    /// `run` on an `InMemoryNetwork` with a fresh `TrustedDealer` and OS randomness.
    public static func runInMemory<T: Sendable>(
        partyCount: Int, encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted,
        _ body: @escaping @Sendable (Party) throws -> T
    ) throws -> [T] {
        try run(partyCount: partyCount, transport: .inMemory, encoder: encoder, truncation: truncation, body)
    }

    /// As `runInMemory`, with every party's masks and the dealer seeded from `seed`: the whole
    /// run is reproducible — and insecure. For tests only.
    public static func insecureRunInMemory<T: Sendable>(
        partyCount: Int, seed: UInt64, encoder: FixedPointEncoder = FixedPointEncoder(),
        truncation: TruncationMethod = .dealerAssisted,
        _ body: @escaping @Sendable (Party) throws -> T
    ) throws -> [T] {
        let dealer = TrustedDealer.insecureSeeded(partyCount: partyCount, seed: seed)
        return try InMemoryNetwork.run(partyCount: partyCount) { channel in
            let party = try Party.insecureSeeded(
                channel: channel, provider: dealer.provider(for: channel.partyIndex), seed: seed,
                encoder: encoder, truncation: truncation)
            return try body(party)
        }
    }
}
