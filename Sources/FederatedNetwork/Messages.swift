import Federated

/// The messages of a deployed federated run, one per `Transport` frame.
///
/// Every frame is `kind` (1 byte), the protocol version (1 byte), the round (4 bytes), then the
/// kind's fields, all little-endian: integers as UInt32, reals as IEEE-754 bit patterns, ring
/// words as UInt64, lists with a UInt32 count first. Decoding is a pure function from bytes to
/// a message or a `WireError` naming what is wrong (fuzzable); it never reads past the frame and
/// never allocates more than the frame's own size implies.
///
/// A secure round is Bonawitz et al.'s four steps with the server as relay:
/// `secureBegin` → `keys` (two X25519 public keys: masking and share encryption), `secureKeys`
/// → `shares` (each peer's Shamir shares, AES-GCM-sealed to that peer), `secureShares` →
/// `masked` (the masked input, or `diverged`), `secureUnmask` → `unmaskShares`.
enum WireKind: UInt8 {
    // Server → client.
    case train = 1, secureBegin = 2, secureKeys = 3, secureShares = 4, secureUnmask = 5, finish = 6
    // Client → server.
    case update = 11, contribution = 12, diverged = 13, keys = 14, shares = 15, masked = 16, unmaskShares = 17
}

/// A frame that is not a well-formed message: what was expected and what came.
public struct WireError: Error, Equatable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The wire format's version.
let wireVersion: UInt8 = 1

/// Little-endian writer.
struct WireWriter {
    var bytes: [UInt8] = []

    init(_ kind: WireKind, round: Int, capacity: Int = 0) {
        bytes.reserveCapacity(6 + capacity)
        bytes.append(kind.rawValue)
        bytes.append(wireVersion)
        u32(round)
    }

    mutating func u32(_ v: Int) {
        let x = UInt32(truncatingIfNeeded: v)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: x >> (8 * UInt32(i)))) }
    }

    mutating func f32(_ v: Float) { u32(Int(v.bitPattern)) }

    mutating func u64s(_ words: [UInt64]) {
        u32(words.count)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 8 * words.count))
        bytes.withUnsafeMutableBytes { raw in
            for (i, w) in words.enumerated() { raw.storeBytes(of: w.littleEndian, toByteOffset: start + 8 * i, as: UInt64.self) }
        }
    }

    mutating func f32s(_ values: [Float]) {
        u32(values.count)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 4 * values.count))
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + 4 * i, as: UInt32.self) }
        }
    }

    mutating func ints(_ values: [Int]) {
        u32(values.count)
        for v in values { u32(v) }
    }

    mutating func blob(_ b: [UInt8]) {
        u32(b.count)
        bytes += b
    }

    mutating func local(_ l: LocalTraining) {
        u32(l.epochs); u32(l.batchSize); f32(l.learningRate); f32(l.momentum); f32(l.proximalMu)
    }
}

/// Little-endian reader over one frame; every read checks the bytes left.
struct WireReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    let kind: WireKind
    let round: Int

    /// Reads the header; `expected` lists the kinds the caller accepts.
    init(_ bytes: UnsafeRawBufferPointer, expected: [WireKind]) throws(WireError) {
        self.bytes = bytes
        guard bytes.count >= 6 else { throw WireError("a frame of \(bytes.count) bytes is shorter than the 6-byte header") }
        guard let kind = WireKind(rawValue: bytes[0]) else { throw WireError("unknown message kind \(bytes[0])") }
        guard bytes[1] == wireVersion else { throw WireError("wire version \(bytes[1]), this node speaks \(wireVersion)") }
        guard expected.contains(kind) else {
            throw WireError("a \(kind) message where \(expected.map { "\($0)" }.joined(separator: " or ")) was expected")
        }
        self.kind = kind
        offset = 2
        var r: UInt32 = 0
        for i in 0..<4 { r |= UInt32(bytes[2 + i]) << (8 * UInt32(i)) }
        round = Int(r)
        offset = 6
    }

    var remaining: Int { bytes.count - offset }

    mutating func u32() throws(WireError) -> Int {
        guard remaining >= 4 else { throw WireError("\(kind) message ends early (at byte \(offset) of \(bytes.count))") }
        var x: UInt32 = 0
        for i in 0..<4 { x |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return Int(x)
    }

    mutating func f32() throws(WireError) -> Float { Float(bitPattern: UInt32(try u32())) }

    mutating func count(elementBytes: Int, limit: Int? = nil) throws(WireError) -> Int {
        let n = try u32()
        guard n <= remaining / elementBytes else {
            throw WireError("\(kind) message announces \(n) items of \(elementBytes) bytes, only \(remaining) bytes are left")
        }
        if let limit, n > limit { throw WireError("\(kind) message has \(n) items, at most \(limit) expected") }
        return n
    }

    mutating func u64s() throws(WireError) -> [UInt64] {
        let n = try count(elementBytes: 8)
        let start = offset
        offset += 8 * n
        let raw = bytes
        return (0..<n).map { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * $0, as: UInt64.self)) }
    }

    mutating func f32s() throws(WireError) -> [Float] {
        let n = try count(elementBytes: 4)
        let start = offset
        offset += 4 * n
        let raw = bytes
        return (0..<n).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: UInt32.self))) }
    }

    mutating func ints() throws(WireError) -> [Int] {
        let n = try count(elementBytes: 4)
        var out: [Int] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try u32()) }
        return out
    }

    mutating func blob() throws(WireError) -> [UInt8] {
        let n = try count(elementBytes: 1)
        let out = Array(bytes[offset..<(offset + n)])
        offset += n
        return out
    }

    mutating func local() throws(WireError) -> LocalTraining {
        let l = LocalTraining(epochs: try u32(), batchSize: try u32(), learningRate: try f32(), momentum: try f32(), proximalMu: try f32())
        do { try l.validate() } catch { throw WireError("local training: \(error)") }
        return l
    }

    func finish() throws(WireError) {
        guard remaining == 0 else { throw WireError("\(kind) message has \(remaining) bytes after its last field") }
    }
}

// MARK: Server → client

/// What the server asks of a client.
enum ServerMessage: Equatable {
    /// Train from `global` and send the update (`contributions` false) or the encoded contribution.
    case train(round: Int, contributions: Bool, local: LocalTraining, global: [Float])
    /// A secure round begins: train from `global`; the participants, in position order, and t.
    case secureBegin(round: Int, local: LocalTraining, global: [Float], participants: [Int], threshold: Int)
    /// Everyone's two public keys (masking, share encryption), in the order of `participants`.
    case secureKeys(round: Int, participants: [Int], maskKeys: [[UInt8]], encryptionKeys: [[UInt8]])
    /// The clients that shared (U2, in position order) and the boxes they sealed to this client
    /// (one per U2 member; empty for the client itself).
    case secureShares(round: Int, sharers: [Int], boxes: [[UInt8]])
    /// Who sent a masked input (U3) and who did not (dropped).
    case secureUnmask(round: Int, survivors: [Int], dropped: [Int])
    /// The run is over.
    case finish(round: Int)

    var round: Int {
        switch self {
        case let .train(r, _, _, _), let .secureBegin(r, _, _, _, _), let .secureKeys(r, _, _, _), let .secureShares(r, _, _),
             let .secureUnmask(r, _, _), let .finish(r): return r
        }
    }

    func encoded() -> [UInt8] {
        switch self {
        case let .train(round, contributions, local, global):
            var w = WireWriter(.train, round: round, capacity: 4 * global.count + 32)
            w.u32(contributions ? 1 : 0); w.local(local); w.f32s(global)
            return w.bytes
        case let .secureBegin(round, local, global, participants, threshold):
            var w = WireWriter(.secureBegin, round: round, capacity: 4 * global.count + 4 * participants.count + 32)
            w.local(local); w.f32s(global); w.ints(participants); w.u32(threshold)
            return w.bytes
        case let .secureKeys(round, participants, maskKeys, encryptionKeys):
            var w = WireWriter(.secureKeys, round: round, capacity: 68 * participants.count + 8)
            w.ints(participants)
            for (m, e) in zip(maskKeys, encryptionKeys) { w.bytes += m; w.bytes += e }
            return w.bytes
        case let .secureShares(round, sharers, boxes):
            var w = WireWriter(.secureShares, round: round)
            w.ints(sharers)
            for b in boxes { w.blob(b) }
            return w.bytes
        case let .secureUnmask(round, survivors, dropped):
            var w = WireWriter(.secureUnmask, round: round)
            w.ints(survivors); w.ints(dropped)
            return w.bytes
        case let .finish(round):
            return WireWriter(.finish, round: round).bytes
        }
    }

    /// - Parameter parameters: d, the model's parameter count (global vectors must have it).
    static func decode(_ bytes: UnsafeRawBufferPointer, parameters d: Int, clientCount: Int) throws(WireError) -> ServerMessage {
        var r = try WireReader(bytes, expected: [.train, .secureBegin, .secureKeys, .secureShares, .secureUnmask, .finish])
        func clients(_ list: [Int], _ what: String) throws(WireError) -> [Int] {
            guard list.allSatisfy({ $0 < clientCount }), zip(list, list.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw WireError("\(r.kind): \(what) must be distinct clients below \(clientCount), in increasing order")
            }
            return list
        }
        func global(_ g: [Float]) throws(WireError) -> [Float] {
            guard g.count == d else { throw WireError("\(r.kind): the global model has \(g.count) parameters, expected \(d)") }
            return g
        }
        let message: ServerMessage
        switch r.kind {
        case .train:
            let mode = try r.u32()
            guard mode <= 1 else { throw WireError("train: unknown reporting mode \(mode)") }
            message = .train(round: r.round, contributions: mode == 1, local: try r.local(), global: try global(try r.f32s()))
        case .secureBegin:
            let local = try r.local(), g = try global(try r.f32s()), p = try clients(try r.ints(), "participants"), t = try r.u32()
            guard t >= 1, t <= p.count else { throw WireError("secureBegin: threshold \(t) for \(p.count) participants") }
            message = .secureBegin(round: r.round, local: local, global: g, participants: p, threshold: t)
        case .secureKeys:
            let p = try clients(try r.ints(), "participants")
            guard r.remaining == 64 * p.count else { throw WireError("secureKeys: \(r.remaining) key bytes for \(p.count) participants, expected \(64 * p.count)") }
            var mask: [[UInt8]] = [], enc: [[UInt8]] = []
            for i in 0..<p.count {
                let base = r.offset + 64 * i
                mask.append(Array(r.bytes[base..<(base + 32)]))
                enc.append(Array(r.bytes[(base + 32)..<(base + 64)]))
            }
            r.offset += 64 * p.count
            message = .secureKeys(round: r.round, participants: p, maskKeys: mask, encryptionKeys: enc)
        case .secureShares:
            let sharers = try clients(try r.ints(), "sharers")
            var boxes: [[UInt8]] = []
            for _ in sharers { boxes.append(try r.blob()) }
            message = .secureShares(round: r.round, sharers: sharers, boxes: boxes)
        case .secureUnmask:
            let s = try clients(try r.ints(), "survivors"), dr = try clients(try r.ints(), "dropped")
            guard Set(s).isDisjoint(with: dr) else { throw WireError("secureUnmask: a client is both a survivor and dropped") }
            message = .secureUnmask(round: r.round, survivors: s, dropped: dr)
        case .finish:
            message = .finish(round: r.round)
        default:
            throw WireError("not a server message")
        }
        try r.finish()
        return message
    }
}

// MARK: Client → server

/// What a client sends back.
enum ClientMessage: Equatable {
    case update(round: Int, exampleCount: Int, loss: Float, update: [Float])
    case contribution(round: Int, loss: Float, words: [UInt64])
    /// Local training diverged (non-finite loss): no result this round.
    case diverged(round: Int)
    case keys(round: Int, maskKey: [UInt8], encryptionKey: [UInt8])
    /// One sealed box per participant position (empty for the sender's own position).
    case shares(round: Int, boxes: [[UInt8]])
    case masked(round: Int, loss: Float, words: [UInt64])
    /// Shares (33 bytes each) of the survivors' self-mask seeds, then of the dropped clients' secret keys.
    case unmaskShares(round: Int, shares: [[UInt8]])

    func encoded() -> [UInt8] {
        switch self {
        case let .update(round, count, loss, update):
            var w = WireWriter(.update, round: round, capacity: 4 * update.count + 16)
            w.u32(count); w.f32(loss); w.f32s(update)
            return w.bytes
        case let .contribution(round, loss, words):
            var w = WireWriter(.contribution, round: round, capacity: 8 * words.count + 16)
            w.f32(loss); w.u64s(words)
            return w.bytes
        case let .diverged(round):
            return WireWriter(.diverged, round: round).bytes
        case let .keys(round, mask, enc):
            var w = WireWriter(.keys, round: round)
            w.bytes += mask; w.bytes += enc
            return w.bytes
        case let .shares(round, boxes):
            var w = WireWriter(.shares, round: round)
            w.u32(boxes.count)
            for b in boxes { w.blob(b) }
            return w.bytes
        case let .masked(round, loss, words):
            var w = WireWriter(.masked, round: round, capacity: 8 * words.count + 16)
            w.f32(loss); w.u64s(words)
            return w.bytes
        case let .unmaskShares(round, shares):
            var w = WireWriter(.unmaskShares, round: round)
            w.u32(shares.count)
            for s in shares { w.bytes += s }
            return w.bytes
        }
    }

    /// Decodes a client's frame, accepting only `expected` kinds of round `round`; vectors must
    /// have `words` entries (d for updates, d + 1 for ring words), lists `items` entries.
    static func decode(_ bytes: UnsafeRawBufferPointer, expected: [WireKind], round: Int, parameters d: Int,
                       items: Int = 0) throws(WireError) -> ClientMessage {
        var r = try WireReader(bytes, expected: expected)
        guard r.round == round else { throw WireError("a \(r.kind) message for round \(r.round) during round \(round)") }
        let message: ClientMessage
        switch r.kind {
        case .update:
            let count = try r.u32(), loss = try r.f32(), u = try r.f32s()
            guard u.count == d else { throw WireError("update has \(u.count) values, expected \(d) (the model's parameters)") }
            guard u.allSatisfy(\.isFinite) else { throw WireError("update has non-finite values") }
            message = .update(round: round, exampleCount: count, loss: loss, update: u)
        case .contribution, .masked:
            let loss = try r.f32(), words = try r.u64s()
            guard words.count == d + 1 else {
                throw WireError("\(r.kind) has \(words.count) words, expected \(d + 1) (the model's parameters and the weight)")
            }
            message = r.kind == .masked ? .masked(round: round, loss: loss, words: words) : .contribution(round: round, loss: loss, words: words)
        case .diverged:
            message = .diverged(round: round)
        case .keys:
            guard r.remaining == 64 else { throw WireError("keys has \(r.remaining) bytes, expected two 32-byte public keys") }
            let mask = Array(r.bytes[6..<38]), enc = Array(r.bytes[38..<70])
            r.offset += 64
            message = .keys(round: round, maskKey: mask, encryptionKey: enc)
        case .shares:
            let n = try r.count(elementBytes: 4, limit: items)
            guard n == items else { throw WireError("shares has \(n) boxes, expected \(items) (one per participant)") }
            var boxes: [[UInt8]] = []
            for _ in 0..<n { boxes.append(try r.blob()) }
            message = .shares(round: round, boxes: boxes)
        case .unmaskShares:
            let n = try r.count(elementBytes: PairwiseMasking.shareBytes, limit: items)
            guard n == items else { throw WireError("unmaskShares has \(n) shares, expected \(items)") }
            var shares: [[UInt8]] = []
            for i in 0..<n {
                let base = r.offset + PairwiseMasking.shareBytes * i
                shares.append(Array(r.bytes[base..<(base + PairwiseMasking.shareBytes)]))
            }
            r.offset += PairwiseMasking.shareBytes * n
            message = .unmaskShares(round: round, shares: shares)
        default:
            throw WireError("not a client message")
        }
        try r.finish()
        return message
    }
}
