import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab paillier bench`: seconds per Paillier operation on one core (plus a batch
/// throughput on all cores). Side-by-side ratios against python-paillier come from
/// `Benchmarks/paillier/compare.py`, which runs this command and phe alternately.
struct PaillierBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time key generation, encryption, decryption and arithmetic.")

    /// The operations, in report order.
    static let operations = [
        "keygen", "powm_rn", "encrypt", "encrypt_fast", "encrypt_crt", "decrypt",
        "decrypt_powm_reference", "add", "scalar_mul", "encrypt_fast_batch",
    ]

    @Option(help: "Modulus size in bits (ignored with --key).") var bits = 2048
    @Option(help: "Minimum seconds spent on each operation.") var seconds = 1.0
    @Option(help: "Keys generated for the key-generation timing.") var keys = 3
    @Option(help: "Use this private key (pheutil JWK) instead of generating one.") var key: String?
    @Option(help: "Comma-separated operations to time (default: all): \(operations.joined(separator: ", ")).")
    var only: String?
    @Flag(help: "Print one JSON object on stdout.") var json = false
    @OptionGroup var keyPolicy: KeyPolicyOptions

    func validate() throws {
        if let only {
            for name in only.split(separator: ",") where !Self.operations.contains(String(name)) {
                throw ValidationError("--only: unknown operation '\(name)'")
            }
        }
    }

    /// Mean seconds per call of `body`, over at least `minimum` seconds and 3 calls.
    static func time(minimum: Double, _ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        var calls = 0
        let start = clock.now
        var elapsed = 0.0
        while calls < 3 || elapsed < minimum {
            try body()
            calls += 1
            elapsed = seconds(clock.now - start)
        }
        return elapsed / Double(calls)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    func generateKey(bits: Int) throws -> PaillierPrivateKey {
        keyPolicy.insecureAllowShortKey
            ? try PaillierPrivateKey.insecureGenerate(bits: bits)
            : try PaillierPrivateKey.generate(bits: bits)
    }

    func run() async throws {
        let selected = Set(only.map { $0.split(separator: ",").map(String.init) } ?? Self.operations)
        var metrics: [(String, Double)] = []
        func record(_ name: String, _ value: Double) {
            metrics.append((name, value))
            if !json { FileHandle.standardError.write(Data("  \(name): \(value)\n".utf8)) }
        }

        let privateKey: PaillierPrivateKey
        if let key {
            privateKey = try PheJSON.readPrivateKey(at: URL(fileURLWithPath: key), sizePolicy: keyPolicy.policy)
        } else {
            try keyPolicy.policy.check(bits: bits)
            privateKey = try generateKey(bits: bits)
        }
        let publicKey = privateKey.publicKey
        let modulusBits = publicKey.bits

        if selected.contains("keygen") {
            // Timed key by key (the cost varies a lot), reported as a mean.
            let clock = ContinuousClock()
            var total = 0.0
            for _ in 0..<max(keys, 1) {
                let start = clock.now
                _ = try generateKey(bits: modulusBits)
                total += Self.seconds(clock.now - start)
            }
            record("keygen.seconds", total / Double(max(keys, 1)))
        }

        let plaintext = BigInteger(123_456_789)
        let r = BigInteger.random(below: publicKey.n)
        let a = try publicKey.encrypt(integer: plaintext)
        let b = try publicKey.encrypt(integer: BigInteger(987_654_321))
        let scalar = (BigInteger(1) << 52) + 12345  // a 53-bit scalar, as a double's mantissa
        let needsFast = selected.contains("encrypt_fast") || selected.contains("encrypt_fast_batch")
        let fast = needsFast ? PaillierFastEncryptor(publicKey: publicKey) : nil

        for operation in Self.operations where selected.contains(operation) {
            switch operation {
            case "powm_rn":
                record("powm_rn.seconds", Self.time(minimum: seconds) { _ = r.power(publicKey.n, modulo: publicKey.nSquared) })
            case "encrypt":
                record("encrypt.seconds", try Self.time(minimum: seconds) { _ = try publicKey.encrypt(integer: plaintext) })
            case "encrypt_fast":
                record("encrypt_fast.seconds", try Self.time(minimum: seconds) { _ = try fast!.encrypt(integer: plaintext) })
            case "encrypt_crt":
                record("encrypt_crt.seconds", try Self.time(minimum: seconds) { _ = try privateKey.encrypt(plaintext) })
            case "decrypt":
                record("decrypt.seconds", try Self.time(minimum: seconds) { _ = try privateKey.decrypt(a) })
            case "decrypt_powm_reference":
                // Reference only: the two CRT exponentiations with the variable-time mpz_powm that
                // phe uses, to show what mpz_powm_sec costs. PrivacyLab never decrypts this way.
                let p = privateKey.p, q = privateKey.q
                let pSquared = p * p, qSquared = q * q, pm1 = p - 1, qm1 = q - 1
                record("decrypt_powm_reference.seconds", Self.time(minimum: seconds) {
                    _ = a.ciphertext.value.power(pm1, modulo: pSquared)
                    _ = a.ciphertext.value.power(qm1, modulo: qSquared)
                })
            case "add":
                record("add.seconds", try Self.time(minimum: seconds) { _ = try a.adding(b) })
            case "scalar_mul":
                record("scalar_mul.seconds", try Self.time(minimum: seconds) { _ = try a.multiplied(by: scalar) })
            case "encrypt_fast_batch":
                let batch = [BigInteger](repeating: plaintext, count: 32 * ProcessInfo.processInfo.activeProcessorCount)
                let perBatch = try Self.time(minimum: seconds) { _ = try fast!.encrypt(batch: batch) }
                record("encrypt_fast_batch.per_item_seconds", perBatch / Double(batch.count))
            default:
                break
            }
        }
        if selected.contains("encrypt"), selected.contains("powm_rn"),
           let e = metrics.first(where: { $0.0 == "encrypt.seconds" })?.1,
           let p = metrics.first(where: { $0.0 == "powm_rn.seconds" })?.1 {
            record("encrypt_over_powm", e / p)
        }

        if json {
            let fields = metrics.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ")
            print("""
            {"name": "paillier-bench", "kind": "benchmark", "params": {"bits": \(modulusBits), \
            "cores": \(ProcessInfo.processInfo.activeProcessorCount), \
            "fast_window": \(fast?.window ?? 6), \
            "fast_exponent_bits": \(fast?.exponentBits ?? 2 * PaillierKeySize.securityLevel(modulusBits: modulusBits))}, \
            "metrics": {\(fields)}}
            """)
        } else {
            print("paillier bench, \(modulusBits)-bit modulus (seconds per operation, one core unless noted)")
            for (name, value) in metrics {
                print(name.padding(toLength: 40, withPad: " ", startingAt: 0), String(format: "%.6g", value))
            }
        }
    }
}
