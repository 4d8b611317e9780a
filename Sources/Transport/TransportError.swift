/// What can go wrong between nodes of a `Mesh`. Messages name the peer and the limit involved,
/// never a payload.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// A setting is unusable (an address that does not parse, a non-positive limit, …).
    case invalidConfiguration(String)
    /// A certificate, key or CA file could not be read or parsed.
    case credentials(file: String, reason: String)
    /// A peer did not connect (or could not be reached) within the connect timeout; `refused`
    /// lists the connections refused meanwhile, with the reason (unknown certificate, …).
    case peerMissing(peer: String, seconds: Double, refused: [String])
    /// The peer's certificate does not name the identity this node expected at its address.
    case wrongPeer(expected: String, presented: String)
    /// The peer closed the connection (it stopped, failed or was killed).
    case peerClosed(peer: String)
    /// No message from the peer within the receive timeout (the peer stalled).
    case timedOut(peer: String, seconds: Double)
    /// The peer announced a frame longer than the limit; the connection is closed.
    case frameTooLarge(peer: String, bytes: Int, limit: Int)
    /// This node tried to send a frame longer than the limit.
    case outgoingFrameTooLarge(peer: String, bytes: Int, limit: Int)
    /// The peer sent more unread data than the limit allows; the connection is closed.
    case receiveQueueFull(peer: String, limit: Int)
    /// The connection failed (TLS or socket error).
    case connectionFailed(peer: String, reason: String)
    /// No connection to this peer is part of the mesh.
    case unknownPeer(String)
    /// The mesh was closed locally.
    case closed

    public var description: String {
        switch self {
        case let .invalidConfiguration(message): return message
        case let .credentials(file, reason): return "\(file): \(reason)"
        case let .peerMissing(peer, seconds, refused):
            let tail = refused.isEmpty ? "" : "; refused meanwhile: " + refused.joined(separator: "; ")
            return "peer '\(peer)' did not connect within \(seconds) s\(tail)"
        case let .wrongPeer(expected, presented):
            return "expected peer '\(expected)', but its certificate names \(presented)"
        case let .peerClosed(peer): return "peer '\(peer)' closed the connection"
        case let .timedOut(peer, seconds): return "no message from peer '\(peer)' within \(seconds) s (stalled?)"
        case let .frameTooLarge(peer, bytes, limit):
            return "peer '\(peer)' announced a frame of \(bytes) bytes, over the limit of \(limit); connection closed"
        case let .outgoingFrameTooLarge(peer, bytes, limit):
            return "a message of \(bytes) bytes to peer '\(peer)' is over the frame limit of \(limit)"
        case let .receiveQueueFull(peer, limit):
            return "peer '\(peer)' sent more than \(limit) unread bytes; connection closed"
        case let .connectionFailed(peer, reason): return "connection to peer '\(peer)' failed: \(reason)"
        case let .unknownPeer(peer): return "no connection to peer '\(peer)'"
        case .closed: return "the mesh is closed"
        }
    }
}
