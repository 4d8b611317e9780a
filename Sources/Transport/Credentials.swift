import Crypto
import Foundation
import NIOSSL
import X509

/// A node's TLS identity and the one CA it trusts: its certificate and private key (PEM), and
/// the CA certificate (PEM) every peer's certificate must chain to.
///
/// The identity of a node is the name its certificate carries: a DNS subject alternative name or,
/// without any, the subject's common name (`Identity.names`).
public struct TLSCredentials: @unchecked Sendable {
    let certificate: NIOSSLCertificate
    let privateKey: NIOSSLPrivateKey
    let trustedCA: NIOSSLCertificate
    /// The names this node's own certificate carries.
    public let names: [String]

    /// Reads the three PEM files; throws `TransportError.credentials` naming the file at fault.
    public init(certificateFile: String, privateKeyFile: String, caFile: String) throws(TransportError) {
        func load<T>(_ file: String, _ what: String, _ make: ([UInt8]) throws -> T) throws(TransportError) -> T {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .credentials(file: file, reason: "cannot read the \(what) file")
            }
            guard data.count <= 1 << 20 else { throw .credentials(file: file, reason: "the \(what) file is over 1 MiB") }
            do { return try make(Array(data)) } catch {
                throw .credentials(file: file, reason: "not a PEM \(what)")
            }
        }
        certificate = try load(certificateFile, "certificate") { try NIOSSLCertificate(bytes: $0, format: .pem) }
        privateKey = try load(privateKeyFile, "private key") { try NIOSSLPrivateKey(bytes: $0, format: .pem) }
        trustedCA = try load(caFile, "CA certificate") { try NIOSSLCertificate(bytes: $0, format: .pem) }
        do {
            names = try Identity.names(der: certificate.toDERBytes())
        } catch {
            throw .credentials(file: certificateFile, reason: "the certificate cannot be parsed")
        }
    }
}

/// Reading a peer's identity off its certificate.
public enum Identity {
    /// The DNS subject alternative names of a DER certificate, or its common name if it has none.
    public static func names(der: [UInt8]) throws -> [String] {
        let certificate = try Certificate(derEncoded: der)
        var names: [String] = []
        if let san = try certificate.extensions.subjectAlternativeNames {
            for name in san { if case let .dnsName(dns) = name { names.append(dns) } }
        }
        if names.isEmpty {
            for rdn in certificate.subject {
                for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                    names.append(String(describing: attribute.value))
                }
            }
        }
        return names
    }

    /// The one identity among `known` that `names` carries, or why there is none.
    static func match(_ names: [String], known: Set<String>) -> Result<String, IdentityRefusal> {
        let matches = Set(names.filter { known.contains($0) })
        if matches.count == 1 { return .success(matches.first!) }
        if matches.isEmpty {
            return .failure(IdentityRefusal(reason: "certificate names \(describe(names)), none an expected peer"))
        }
        return .failure(IdentityRefusal(reason: "certificate names several peers: \(describe(Array(matches).sorted()))"))
    }

    static func describe(_ names: [String]) -> String {
        names.isEmpty ? "no name" : names.map { "'\($0)'" }.joined(separator: ", ")
    }
}

struct IdentityRefusal: Error { let reason: String }

/// Writes a development certificate authority and one certificate and key per node, for trying
/// the networked MPC on one machine or a test network. Keys are P-256 (swift-crypto), written
/// with mode 0600; certificates (swift-certificates) name their node as the subject's common
/// name and as a DNS subject alternative name, and are valid for both TLS client and server use.
///
/// Development only: the CA's key is written next to the certificates, so whoever reads the
/// folder can issue identities.
public enum DevelopmentCertificates {
    /// The files written for one node.
    public struct Files: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String
    }

    /// Writes `ca.pem`, `ca-key.pem` and `<name>.pem`, `<name>-key.pem` per name into
    /// `directory` (created if missing); returns the files per name.
    /// - Throws: `TransportError.invalidConfiguration` for an unusable name or an unwritable folder.
    @discardableResult
    public static func write(names: [String], to directory: String, validDays: Int = 30) throws(TransportError) -> [String: Files] {
        guard !names.isEmpty, Set(names).count == names.count else {
            throw .invalidConfiguration("certificate names must be distinct and at least one")
        }
        for name in names {
            guard !name.isEmpty, name.count <= 63,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw .invalidConfiguration("certificate name '\(name)' must be 1–63 ASCII letters, digits or '-'")
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let now = Date()
            let notBefore = now.addingTimeInterval(-300)
            let notAfter = now.addingTimeInterval(Double(validDays) * 86_400)
            let caKey = P256.Signing.PrivateKey()
            let caName = try DistinguishedName { CommonName("PrivacyLab development CA") }
            let ca = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: caName,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(caKey))
            try writePEM(ca, to: directory + "/ca.pem")
            try writeKey(caKey, to: directory + "/ca-key.pem")
            var files: [String: Files] = [:]
            for name in names {
                let key = P256.Signing.PrivateKey()
                let subject = try DistinguishedName { CommonName(name) }
                let certificate = try Certificate(
                    version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
                    notValidBefore: notBefore, notValidAfter: notAfter, issuer: caName, subject: subject,
                    signatureAlgorithm: .ecdsaWithSHA256,
                    extensions: try Certificate.Extensions {
                        Critical(BasicConstraints.notCertificateAuthority)
                        Critical(KeyUsage(digitalSignature: true))
                        try ExtendedKeyUsage([.serverAuth, .clientAuth])
                        SubjectAlternativeNames([.dnsName(name)])
                    },
                    issuerPrivateKey: .init(caKey))
                let f = Files(certificate: directory + "/\(name).pem", privateKey: directory + "/\(name)-key.pem")
                try writePEM(certificate, to: f.certificate)
                try writeKey(key, to: f.privateKey)
                files[name] = f
            }
            return files
        } catch let error as TransportError {
            throw error
        } catch {
            throw .invalidConfiguration("cannot write certificates to \(directory): \(error)")
        }
    }

    private static func writePEM(_ certificate: Certificate, to path: String) throws {
        let pem = try certificate.serializeAsPEM().pemString + "\n"
        guard FileManager.default.createFile(atPath: path, contents: Data(pem.utf8)) else {
            throw TransportError.invalidConfiguration("cannot write \(path)")
        }
    }

    private static func writeKey(_ key: P256.Signing.PrivateKey, to path: String) throws {
        let pem = key.pemRepresentation + "\n"
        guard FileManager.default.createFile(
            atPath: path, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw TransportError.invalidConfiguration("cannot write \(path)")
        }
    }
}
