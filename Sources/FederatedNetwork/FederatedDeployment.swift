import Federated
import Foundation
import Transport

/// Where the nodes of a deployed federated run are and who they are: the server's address and
/// TLS identity, the folder of the clients' certificates, the CA, the server's state file, and
/// the transport's limits.
///
/// Client k is the node named `client-<k>` (the name its certificate carries), with
/// `client-<k>.pem` and `client-<k>-key.pem` in `clientCertificates` (what `privacy-lab fl certs`
/// writes). Clients dial the server; only the server listens, on exactly its address.
public struct FederatedDeployment: Sendable {
    public var ca: String
    public var serverID: String
    public var serverAddress: NodeAddress
    public var serverCertificate: String
    public var serverKey: String
    public var clientCertificates: String
    /// The file the server keeps its round state in (written atomically after every round); nil
    /// for none (a restarted server then starts over).
    public var statePath: String?
    /// The server's limits: frames, connecting, and how long it waits for a client's answer (a
    /// client silent for longer is dropped from the run).
    public var limits: TransportLimits
    /// How long a client waits for the server's next message (others train meanwhile).
    public var clientIdleTimeout: Double

    public init(ca: String, serverID: String = "server", serverAddress: NodeAddress, serverCertificate: String, serverKey: String,
                clientCertificates: String, statePath: String? = nil, limits: TransportLimits = TransportLimits(),
                clientIdleTimeout: Double = 600) {
        self.ca = ca
        self.serverID = serverID
        self.serverAddress = serverAddress
        self.serverCertificate = serverCertificate
        self.serverKey = serverKey
        self.clientCertificates = clientCertificates
        self.statePath = statePath
        self.limits = limits
        self.clientIdleTimeout = clientIdleTimeout
    }

    /// The identity of client `k`.
    public static func clientID(_ k: Int) -> String { "client-\(k)" }

    func clientCredentials(_ k: Int) throws(TransportError) -> TLSCredentials {
        let id = Self.clientID(k)
        return try TLSCredentials(certificateFile: "\(clientCertificates)/\(id).pem", privateKeyFile: "\(clientCertificates)/\(id)-key.pem",
                                  caFile: ca)
    }

    func serverCredentials() throws(TransportError) -> TLSCredentials {
        try TLSCredentials(certificateFile: serverCertificate, privateKeyFile: serverKey, caFile: ca)
    }
}

/// Why a deployed run cannot go on: one clear line naming the node and what is wrong.
public struct FederatedNetworkError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension FederatedSimulation {
    /// Checks that this configuration can run deployed: simulated dropouts are off (a deployment
    /// meets real ones) and secure aggregation, if any, is pairwise masking.
    func checkDeployable() throws(FederatedNetworkError) {
        guard configuration.dropoutProbability == 0, configuration.forcedDropouts.isEmpty else {
            throw FederatedNetworkError("federation.dropout simulates dropouts; a deployed run meets real ones: set it to 0")
        }
        if case let .secure(p, _) = configuration.aggregation, !(p is PairwiseMasking) {
            throw FederatedNetworkError("secure_aggregation.protocol \(p.name) is simulated only; a deployed run supports none, fixed-point and masking")
        }
    }
}
