import SecretSharing
import Transport

/// A party's `Channel` over a `Mesh`: each message is one frame of little-endian 64-bit words.
///
/// Rounds and bytes are counted as by `InMemoryChannel` (payload bytes, framing and TLS not
/// included). A transport failure becomes `SecretSharingError.peerFailure` naming the party and
/// what happened (closed, stalled, oversized or malformed frame); a frame that is not a whole
/// number of words is refused the same way.
public final class NetworkChannel: Channel, @unchecked Sendable {
    public let partyIndex: Int
    public let partyCount: Int
    public private(set) var statistics = CommunicationStatistics()
    /// The parties' identities, in party order.
    public let ids: [String]
    private let mesh: Mesh
    private var receiving = false

    /// The channel of party `partyIndex` of `ids` over `mesh` (connected to every other party).
    public init(mesh: Mesh, ids: [String], partyIndex: Int) {
        self.mesh = mesh
        self.ids = ids
        self.partyIndex = partyIndex
        self.partyCount = ids.count
    }

    private func check(_ party: Int) throws(SecretSharingError) {
        guard party != partyIndex, (0..<partyCount).contains(party) else {
            throw .invalidArgument("party \(partyIndex) cannot exchange messages with party \(party)")
        }
    }

    func failure(_ party: Int, _ error: TransportError) -> SecretSharingError {
        .peerFailure(party: party, reason: "'\(ids[party])': \(error)")
    }

    public func send(_ words: [UInt64], to party: Int) throws(SecretSharingError) {
        try check(party)
        receiving = false
        statistics.bytesSent += 8 * words.count
        statistics.messagesSent += 1
        do {
            try WordCoding.withLittleEndianBytes(words) { (raw) throws(TransportError) in try mesh.send(raw, to: ids[party]) }
        } catch {
            throw failure(party, error)
        }
    }

    public func receive(from party: Int) throws(SecretSharingError) -> [UInt64] {
        try check(party)
        if !receiving {
            receiving = true
            statistics.rounds += 1
        }
        let frame: Frame
        do { frame = try mesh.receive(from: ids[party]) } catch { throw failure(party, error) }
        guard let words = WordCoding.words(frame) else {
            throw .peerFailure(party: party, reason: "'\(ids[party])' sent a frame of \(frame.count) bytes, not a whole number of 64-bit words")
        }
        return words
    }
}

/// Words ↔ little-endian bytes.
enum WordCoding {
    static func withLittleEndianBytes<R>(
        _ words: [UInt64], _ body: (UnsafeRawBufferPointer) throws(TransportError) -> R
    ) throws(TransportError) -> R {
        #if _endian(little)
        let source = words
        #else
        let source = words.map(\.littleEndian)
        #endif
        let result: Result<R, TransportError> = source.withUnsafeBytes { raw in
            do throws(TransportError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The frame's words, or nil if its length is not a multiple of 8.
    static func words(_ frame: Frame) -> [UInt64]? {
        guard frame.count % 8 == 0 else { return nil }
        let count = frame.count / 8
        return frame.withUnsafeBytes { raw in
            [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
                // One block copy (the frame's bytes need not be aligned), then the byte order.
                if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw) }
                #if !_endian(little)
                for i in 0..<count { buffer[i] = UInt64(littleEndian: buffer[i]) }
                #endif
                initialized = count
            }
        }
    }
}
