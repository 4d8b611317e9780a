import ArgumentParser
import Foundation
import PrivacyLab

/// `privacy-lab dp`: differential-privacy accounting from the command line.
struct DPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dp",
        abstract: "Differential-privacy accounting for DP-SGD (Poisson-subsampled Gaussian mechanism).",
        subcommands: [Epsilon.self, Sigma.self])
}

/// The accountant a command uses.
enum AccountantChoice: String, ExpressibleByArgument, CaseIterable {
    case rdp, pld
}

/// The options both subcommands share.
struct AccountingOptions: ParsableArguments {
    @Option(name: .customLong("q"), help: "Sampling probability q ∈ (0, 1] (expected batch size / dataset size).")
    var samplingProbability: Double

    @Option(help: "Number of steps T ≥ 0.")
    var steps: Int

    @Option(help: "δ ∈ (0, 1).")
    var delta: Double

    @Option(help: "rdp (Rényi DP, fast) or pld (privacy-loss distribution, tighter).")
    var accountant: AccountantChoice = .rdp

    @Option(help: "RDP → (ε, δ) conversion: balle-2020 (tighter, default) or classic.")
    var conversion: RDPConversion = .balle2020

    @Option(help: "PLD grid spacing.")
    var discretization: Double = PrivacyLossDistribution.defaultDiscretization

    @Flag(help: "Print one JSON object on stdout.")
    var json = false

    var method: AccountingMethod {
        switch accountant {
        case .rdp: return .rdp(conversion: conversion)
        case .pld: return .pld(discretization: discretization)
        }
    }

    func emit(_ values: KeyValuePairs<String, Any>, human: String) throws {
        if json {
            var object: [String: Any] = ["accountant": accountant.rawValue, "q": samplingProbability, "steps": steps, "delta": delta]
            if accountant == .rdp { object["conversion"] = conversion.rawValue } else { object["discretization"] = discretization }
            for (key, value) in values { object[key] = value }
            let data = try JSONSerialization.data(withJSONObject: ["dp": object], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(human)
        }
    }
}

extension RDPConversion: ExpressibleByArgument {}

extension DPCommand {
    struct Epsilon: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "ε spent by T steps at rate q with noise multiplier σ.")

        @OptionGroup var options: AccountingOptions

        @Option(help: "Noise multiplier σ > 0 (noise standard deviation / clipping norm).")
        var sigma: Double

        func run() throws {
            let phase = PoissonGaussianSteps(samplingProbability: options.samplingProbability, noiseMultiplier: sigma,
                                             steps: options.steps)
            let epsilon = try options.method.epsilon(for: [phase], delta: options.delta)
            try options.emit(["sigma": sigma, "epsilon": epsilon],
                             human: "ε = \(epsilon) for δ = \(options.delta) (\(options.accountant.rawValue), q = \(options.samplingProbability), σ = \(sigma), T = \(options.steps))")
        }
    }

    struct Sigma: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The smallest noise multiplier σ that keeps T steps at rate q within (ε, δ).")

        @OptionGroup var options: AccountingOptions

        @Option(help: "Target ε > 0.")
        var epsilon: Double

        func run() throws {
            let sigma = try options.method.noiseMultiplier(forEpsilon: epsilon, delta: options.delta,
                                                           samplingProbability: options.samplingProbability,
                                                           steps: options.steps)
            try options.emit(["epsilon": epsilon, "sigma": sigma],
                             human: "σ = \(sigma) for ε = \(epsilon), δ = \(options.delta) (\(options.accountant.rawValue), q = \(options.samplingProbability), T = \(options.steps))")
        }
    }
}
