import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab mpc`: additive secret-sharing MPC.
struct MPCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpc",
        abstract: "Additive secret-sharing MPC over Z(2^64).",
        subcommands: [Bench.self, MPCRun.self, MPCCerts.self])

    /// `privacy-lab mpc bench [--parties N] [--json]`.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time private operations (matmul, ReLU, sigmoid, logistic regression, …) with their rounds, bytes and error.")

        @Option(help: "Number of parties (2…\(MPCBenchmark.maximumParties)).")
        var parties: Int = 2

        @Option(help: "Repetitions per workload; the median time is reported.")
        var repetitions: Int = 5

        @Option(help: "Truncation protocol: dealer (any party count, exact to one unit) or local (2 parties, SecureML, may fail with small probability).")
        var truncation: TruncationChoice = .dealer

        @Option(help: "How parties are connected: memory (in-process queues) or socket (Unix socket pairs, every byte through the kernel).")
        var transport: TransportChoice = .memory

        @Option(name: .customLong("only"), parsing: .upToNextOption,
                help: "Workloads to run (default: all): \(MPCBenchmark.workloads.joined(separator: ", ")).")
        var only: [String] = []

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        enum TruncationChoice: String, ExpressibleByArgument {
            case dealer, local
        }

        enum TransportChoice: String, ExpressibleByArgument {
            case memory, socket
        }

        func validate() throws {
            guard (2...MPCBenchmark.maximumParties).contains(parties) else {
                throw ValidationError("--parties must lie in 2…\(MPCBenchmark.maximumParties), got \(parties)")
            }
            guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
            if truncation == .local && parties != 2 {
                throw ValidationError("--truncation local needs exactly 2 parties")
            }
            for name in only where !MPCBenchmark.workloads.contains(name) {
                throw ValidationError("unknown workload '\(name)'; known: \(MPCBenchmark.workloads.joined(separator: ", "))")
            }
        }

        func run() throws {
            let method: TruncationMethod = truncation == .dealer ? .dealerAssisted : .localTwoParty
            let results = try MPCBenchmark.run(
                parties: parties, repetitions: repetitions, truncation: method,
                transport: transport == .memory ? .inMemory : .socketPairs, names: only)
            if json {
                var metrics: [String: Double] = [:]
                for r in results {
                    metrics["\(r.name).seconds"] = r.seconds
                    metrics["\(r.name).online_seconds"] = r.onlineSeconds
                    metrics["\(r.name).rounds"] = Double(r.rounds)
                    metrics["\(r.name).bytes"] = Double(r.bytes)
                    metrics["\(r.name).offline_bytes"] = Double(r.offlineBytes)
                    metrics["\(r.name).max_error"] = r.maxError
                    metrics["\(r.name).detected_failures"] = Double(r.detectedFailures)
                    if let p = r.plaintextSeconds {
                        metrics["\(r.name).plaintext_seconds"] = p
                        metrics["\(r.name).ratio_to_plaintext"] = r.seconds / p
                    }
                }
                let object: [String: Any] = [
                    "run": "mpc-bench-\(Int(Date().timeIntervalSince1970))",
                    "name": "mpc-bench", "kind": "mpc-bench", "seed": 0,
                    "trials": [[
                        "params": ["parties": parties, "repetitions": repetitions,
                                   "truncation": truncation.rawValue,
                                   "transport": transport.rawValue] as [String: Any],
                        "metrics": metrics,
                    ]],
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("workload          seconds     online s   rounds   online bytes   offline bytes   max error")
                for r in results {
                    let line = [
                        r.name.padding(toLength: 16, withPad: " ", startingAt: 0),
                        String(format: "%10.6f", r.seconds), String(format: "%10.6f", r.onlineSeconds),
                        String(format: "%7d", r.rounds),
                        String(format: "%14d", r.bytes), String(format: "%15d", r.offlineBytes),
                        String(format: "%11.2e", r.maxError),
                    ].joined(separator: " ")
                    print(line)
                    if r.detectedFailures > 0 {
                        print("  \(r.detectedFailures) of \(repetitions) repetitions revealed a wrapped result (detected: bound exceeded), left out of the error")
                    }
                    if let p = r.plaintextSeconds {
                        print("  plaintext (Swift, Double): \(String(format: "%.6f", p)) s, ratio \(String(format: "%.1f", r.seconds / p))x")
                    }
                }
            }
        }
    }
}
