import ExperimentSpecs
import ExperimentStore
import Foundation

/// The version of the PrivacyLab package and the fingerprint of the code that computes results.
///
/// `code` ("0.1.0+sources.<SHA-256 of every source file>") is recorded with every stored run
/// and is part of every trial and artifact key, so a build whose code differs in any source
/// file recomputes instead of reusing; the same sources give the same fingerprint on any
/// machine. `sourceFingerprint` and `commit` are generated at build time by the CodeFingerprint
/// plugin. Reuse across builds is possible only when asked for by name
/// (`ExperimentRunner.Options.reusableCodeVersions`, `privacy-lab run --reuse-code`).
public enum PrivacyLabVersion {
    /// The release number.
    public static let string = "0.1.0"
    /// What keys results: the release and the fingerprint of the sources.
    public static var code: String { "\(string)+sources.\(sourceFingerprint)" }
    /// One line for `--version`: release, commit and source fingerprint.
    public static var description: String { "\(string) (commit \(commit), sources \(sourceFingerprint))" }
}

/// A kind of experiment (`train`, `membership-inference`, `dp-training`, …): how to decode its
/// typed parameters from a trial's spec body and how to run one trial.
///
/// Kinds are registered by passing them to the runner (`ExperimentRunner(kinds:)`); there is no
/// global registry.
public protocol ExperimentKind: Sendable {
    associatedtype Parameters: Sendable
    /// The `kind:` name in specs.
    static var name: String { get }
    /// One line for `privacy-lab run --help` and errors.
    static var summary: String { get }
    /// Decodes the spec body (every section but the header). Must read every key it accepts and
    /// call `finish()` on each reader so that unknown keys are reported.
    static func parameters(from body: SpecReader) throws(SpecError) -> Parameters
    /// The outside files a trial with these parameters reads (arrays, checkpoints, data
    /// folders' files). The runner hashes their contents into the trial's key, so a changed
    /// file is never answered from the cache, and hands the digests to the trial
    /// (`TrialContext.inputDigests`). Default: none.
    static func inputFiles(of parameters: Parameters) -> [URL]
    /// Text standing for the content of inputs the runner cannot hash as files (a named
    /// dataset's checksum list, `DataSpec.inputFingerprints`); part of the trial's key. Default: none.
    static func inputFingerprints(of parameters: Parameters) -> [String]
    /// Runs one trial. All randomness comes from `context.random`'s named streams; artifacts go
    /// through `context`'s cache.
    static func run(_ parameters: Parameters, context: TrialContext) async throws -> TrialOutcome
}

extension ExperimentKind {
    public static func inputFiles(of parameters: Parameters) -> [URL] { [] }
    public static func inputFingerprints(of parameters: Parameters) -> [String] { [] }
}

/// A kind with its parameter type erased, as the runner holds it.
public struct AnyExperimentKind: Sendable {
    public let name: String
    public let summary: String
    let decode: @Sendable (SpecNode, String) throws -> any Sendable
    let execute: @Sendable (any Sendable, TrialContext) async throws -> TrialOutcome
    let files: @Sendable (any Sendable) -> [URL]
    let fingerprints: @Sendable (any Sendable) -> [String]

    public init<K: ExperimentKind>(_ kind: K.Type) {
        name = K.name
        summary = K.summary
        decode = { node, file in
            let reader = try SpecReader(node, file: file)
            let parameters = try K.parameters(from: reader)
            try reader.finish()
            return parameters
        }
        files = { parameters in (parameters as? K.Parameters).map { K.inputFiles(of: $0) } ?? [] }
        fingerprints = { parameters in (parameters as? K.Parameters).map { K.inputFingerprints(of: $0) } ?? [] }
        execute = { parameters, context in
            guard let typed = parameters as? K.Parameters else {
                throw RunnerError.internalInconsistency("parameters of the wrong type for kind \(K.name)")
            }
            return try await K.run(typed, context: context)
        }
    }
}

/// Errors of planning and running experiments.
public enum RunnerError: Error, CustomStringConvertible {
    case spec(SpecError)
    case store(StoreError)
    case artifact(file: String, reason: String)
    case trialFailed(index: Int, parameters: String, reason: String)
    case cancelled
    /// Interrupted while planning, before anything was stored.
    case cancelledBeforeStart
    case internalInconsistency(String)

    public var description: String {
        switch self {
        case let .spec(error): return error.description
        case let .store(error): return error.description
        case let .artifact(file, reason): return "\(file): \(reason)"
        case let .trialFailed(index, parameters, reason): return "trial \(index) \(parameters): \(reason)"
        case .cancelled: return "run interrupted; finished trials are kept, and running the same spec again resumes it"
        case .cancelledBeforeStart: return "run interrupted while planning; nothing was stored"
        case let .internalInconsistency(message): return "internal error: \(message)"
        }
    }
}
