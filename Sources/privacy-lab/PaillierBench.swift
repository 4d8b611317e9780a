import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab paillier bench`: seconds per Paillier operation on one core (plus a batch
/// throughput on all cores). Side-by-side ratios against python-paillier come from
/// `Benchmarks/paillier/compare.py`, which runs this command and phe alternately.
struct PaillierBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time key generation, encryption, decryption and arithmetic.")

    @Option(help: "Modulus size in bits.") var bits = 2048
    @Option(help: "Minimum seconds spent on each operation.") var seconds = 1.0
    @Option(help: "Keys generated for the key-generation timing.") var keys = 3
    @Flag(help: "Print one JSON object on stdout.") var json = false
    @OptionGroup var keyPolicy: KeyPolicyOptions

    /// Mean seconds per call of `body`, over at least `minimum` seconds and 3 calls.
    static func time(minimum: Double, _ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        var calls = 0
        let start = clock.now
        var elapsed = 0.0
        while calls < 3 || elapsed < minimum {
            try body()
            calls += 1
            let d = clock.now - start
            elapsed = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        return elapsed / Double(calls)
    }

    func run() async throws {
        try keyPolicy.policy.check(bits: bits)
        var metrics: [(String, Double)] = []
        func record(_ name: String, _ value: Double) {
            metrics.append((name, value))
            if !json { FileHandle.standardError.write(Data("  \(name): \(value)\n".utf8)) }
        }

        // Key generation timed key by key (its cost varies a lot), reported as a mean.
        let clock = ContinuousClock()
        var generated: [PaillierPrivateKey] = []
        var total = 0.0
        for _ in 0..<max(keys, 1) {
            let start = clock.now
            generated.append(keyPolicy.insecureAllowShortKey
                ? try PaillierPrivateKey.insecureGenerate(bits: bits)
                : try PaillierPrivateKey.generate(bits: bits))
            let d = clock.now - start
            total += Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        record("keygen.seconds", total / Double(generated.count))

        let key = generated[0]
        let publicKey = key.publicKey
        let plaintext = BigInteger(123_456_789)
        let r = BigInteger.random(below: publicKey.n)

        let powm = Self.time(minimum: seconds) { _ = r.power(publicKey.n, modulo: publicKey.nSquared) }
        record("powm_rn.seconds", powm)
        let classic = try Self.time(minimum: seconds) { _ = try publicKey.encrypt(integer: plaintext) }
        record("encrypt.seconds", classic)
        record("encrypt_over_powm", classic / powm)
        let fast = PaillierFastEncryptor(publicKey: publicKey)
        let fastSeconds = try Self.time(minimum: seconds) { _ = try fast.encrypt(integer: plaintext) }
        record("encrypt_fast.seconds", fastSeconds)
        let crt = try Self.time(minimum: seconds) { _ = try key.encrypt(plaintext) }
        record("encrypt_crt.seconds", crt)

        let a = try publicKey.encrypt(integer: plaintext)
        let b = try publicKey.encrypt(integer: BigInteger(987_654_321))
        let decrypt = try Self.time(minimum: seconds) { _ = try key.decrypt(a) }
        record("decrypt.seconds", decrypt)
        // Reference only: the two CRT exponentiations with the variable-time mpz_powm that phe
        // uses, to show what mpz_powm_sec costs. PrivacyLab never decrypts this way.
        let pSquared = key.p * key.p, qSquared = key.q * key.q, pm1 = key.p - 1, qm1 = key.q - 1
        let reference = Self.time(minimum: seconds) {
            _ = a.ciphertext.value.power(pm1, modulo: pSquared)
            _ = a.ciphertext.value.power(qm1, modulo: qSquared)
        }
        record("decrypt_powm_reference.seconds", reference)
        let add = try Self.time(minimum: seconds) { _ = try a.adding(b) }
        record("add.seconds", add)
        let scalar = (BigInteger(1) << 52) + 12345  // a 53-bit scalar, as a double's mantissa
        let multiply = try Self.time(minimum: seconds) { _ = try a.multiplied(by: scalar) }
        record("scalar_mul.seconds", multiply)

        // All cores: a batch of fast encryptions.
        let batch = [BigInteger](repeating: plaintext, count: 64 * ProcessInfo.processInfo.activeProcessorCount)
        let batchSeconds = try Self.time(minimum: seconds) { _ = try fast.encrypt(batch: batch) }
        record("encrypt_fast_batch.per_item_seconds", batchSeconds / Double(batch.count))

        if json {
            var fields = metrics.map { "\"\($0.0)\": \($0.1)" }
            fields.sort()
            print("""
            {"name": "paillier-bench", "kind": "benchmark", "params": {"bits": \(bits), \
            "cores": \(ProcessInfo.processInfo.activeProcessorCount), "fast_window": \(fast.window), \
            "fast_exponent_bits": \(fast.exponentBits)}, "metrics": {\(fields.joined(separator: ", "))}}
            """)
        } else {
            print("paillier bench, \(bits)-bit modulus (seconds per operation, one core unless noted)")
            for (name, value) in metrics {
                print(name.padding(toLength: 40, withPad: " ", startingAt: 0), String(format: "%.6g", value))
            }
        }
    }
}
