import Codecs
import ExperimentRunning
import ExperimentStore
import Foundation

/// Writes a run's per-example membership scores as `.npy` files, for analysis outside the lab.
///
/// Layout: for each completed trial, in `directory` itself when the run has one trial, else in
/// `directory/trial-<index>/`:
///
/// | file | dtype, shape | |
/// |---|---|---|
/// | `<attack>.npy` | float64 (n,) | the attack's score of each audited record (higher = more likely a member) |
/// | `members.npy` | uint8 (n,) | 1 when the record was in the target's training set |
/// | `indices.npy` | int64 (n,) | the record's index: into the audited arrays (`audit`), or into the data the trial loaded (`membership-inference`) |
///
/// Element i of every file describes the same record. Each file is written atomically
/// (temporary file, then rename). Runs stored before indices were recorded get no `indices.npy`.
public enum ScoreExport {
    /// What was written.
    public struct Written: Sendable {
        public var files: [URL]
        /// Trials that stored scores but no record indices.
        public var trialsWithoutIndices: [Int]
    }

    /// Writes every completed trial's scores of `runID` under `directory` (created if needed).
    /// - Throws: `RunnerError.artifact` when the run stores no scores, an artifact is missing or
    ///   damaged, or a file cannot be written.
    public static func write(runID: String, store: ResultStore, to directory: URL) throws -> Written {
        let run = try store.run(runID)
        let trials = try store.trials(runID: run.id).filter { $0.status == .complete }
        var written = Written(files: [], trialsWithoutIndices: [])
        var found = false
        for trial in trials {
            let outcome = try store.outcome(runID: run.id, index: trial.index)
            let scoreArtifacts = outcome.artifacts.filter { $0.role.hasPrefix("scores-") }
            guard !scoreArtifacts.isEmpty else { continue }
            found = true
            let folder = run.trialCount > 1 ? directory.appendingPathComponent("trial-\(trial.index)", isDirectory: true) : directory
            do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
                throw RunnerError.artifact(file: folder.path, reason: "cannot create the folder: \(error.localizedDescription)")
            }
            var members: [UInt8]?
            var count: Int?
            for artifact in scoreArtifacts {
                let attack = String(artifact.role.dropFirst("scores-".count))
                guard !attack.isEmpty, attack.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                    throw RunnerError.artifact(file: artifact.key, reason: "unexpected score artifact role '\(artifact.role)'")
                }
                let array = try load(artifact, store: store)
                guard array.shape.count == 2, array.shape[0] == 2 else {
                    throw RunnerError.artifact(file: artifact.key, reason: "score artifact of shape \(array.shape), expected [2, n]")
                }
                let n = array.shape[1]
                let values = array.doubles()
                let membership = values[n...].map { UInt8($0 == 1 ? 1 : 0) }
                if let members, members != membership || count != n {
                    throw RunnerError.artifact(file: artifact.key, reason: "the scores of \(attack) describe other records than the trial's other attacks")
                }
                members = membership
                count = n
                written.files.append(try save(NumpyArray(shape: [n], values: Array(values[..<n])), folder.appendingPathComponent("\(attack).npy")))
            }
            written.files.append(try save(NumpyArray(shape: [count!], values: members!), folder.appendingPathComponent("members.npy")))
            if let indexArtifact = outcome.artifacts.first(where: { $0.role == "record-indices" }) {
                let indices = try load(indexArtifact, store: store)
                guard indices.shape == [count!] else {
                    throw RunnerError.artifact(file: indexArtifact.key, reason: "record indices of shape \(indices.shape) for \(count!) scores")
                }
                written.files.append(try save(NumpyArray(shape: [count!], values: try indices.integers()), folder.appendingPathComponent("indices.npy")))
            } else {
                written.trialsWithoutIndices.append(trial.index)
            }
        }
        guard found else {
            throw RunnerError.artifact(file: store.url.path, reason: "run \(run.id) (\(run.kind)) stores no per-example scores; membership-inference and audit runs do")
        }
        return written
    }

    private static func load(_ artifact: ArtifactReference, store: ResultStore) throws -> NumpyArray {
        // Only an artifact whose size and SHA-256 still match the store is parsed.
        guard let data = try ArtifactCache.verifiedData(key: artifact.key, store: store) else {
            throw RunnerError.artifact(file: artifact.key, reason: "the \(artifact.role) artifact is missing from the store or no longer matches its recorded size and SHA-256")
        }
        do { return try NumpyArray(npy: data, source: artifact.key) } catch {
            throw RunnerError.artifact(file: error.file, reason: error.reason)
        }
    }

    private static func save(_ array: NumpyArray, _ url: URL) throws -> URL {
        do { try OutputFile.write([UInt8](array.npyData()), to: url) } catch {
            throw RunnerError.artifact(file: url.path, reason: "cannot write: \(error.description)")
        }
        return url
    }
}
