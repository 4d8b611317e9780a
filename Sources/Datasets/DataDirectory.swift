// Where dataset files are looked for: a pure function of what the caller passes in.
import Foundation

/// The folder holding PrivacyLab's datasets (`mnist/`, `sklearn/`, …) and why it was chosen.
public struct DataDirectory: Sendable, Equatable, CustomStringConvertible {
    /// How the folder was chosen.
    public enum Origin: String, Sendable, Equatable {
        /// Given explicitly (the CLI's `--data-dir`, a spec's field).
        case explicit
        /// The value of the `PRIVACY_LAB_DATA` environment variable, read by the caller.
        case environment
        /// Neither was given: `./data` under the current directory.
        case defaultLocation
        /// Chosen by an experiment run, which passes only the folder on to its trials.
        case experimentRun
    }

    public let url: URL
    public let origin: Origin

    public init(url: URL, origin: Origin = .explicit) {
        self.url = url.standardizedFileURL
        self.origin = origin
    }

    /// Resolves the data folder: an explicit folder, else the environment value the caller read,
    /// else `./data` under `currentDirectory`. Empty strings count as not given. Relative paths
    /// are taken relative to `currentDirectory`.
    ///
    /// Pure: it reads no environment and touches no file; the caller passes every input.
    public static func resolve(explicit: String?, environmentValue: String?, currentDirectory: URL) -> DataDirectory {
        func absolute(_ path: String) -> URL {
            path.hasPrefix("/") ? URL(fileURLWithPath: path, isDirectory: true)
                : currentDirectory.appendingPathComponent(path, isDirectory: true)
        }
        if let explicit, !explicit.isEmpty { return DataDirectory(url: absolute(explicit), origin: .explicit) }
        if let environmentValue, !environmentValue.isEmpty {
            return DataDirectory(url: absolute(environmentValue), origin: .environment)
        }
        return DataDirectory(url: currentDirectory.appendingPathComponent("data", isDirectory: true), origin: .defaultLocation)
    }

    /// The URL of a file given relative to the data folder (`mnist/train-images-idx3-ubyte.gz`).
    public func file(_ relativePath: String) -> URL {
        url.appendingPathComponent(relativePath, isDirectory: false)
    }

    /// How the folder was chosen, in words for error messages.
    public var originDescription: String {
        switch origin {
        case .explicit: return "given explicitly (--data-dir)"
        case .environment: return "from PRIVACY_LAB_DATA"
        case .defaultLocation: return "the default ./data; set --data-dir or PRIVACY_LAB_DATA to change it"
        case .experimentRun: return "the run's data folder: --data-dir, else PRIVACY_LAB_DATA, else ./data"
        }
    }

    public var description: String { "\(url.path) (\(originDescription))" }

    /// Equal when the paths and origins are equal (however the URLs were spelled).
    public static func == (a: DataDirectory, b: DataDirectory) -> Bool {
        a.url.path == b.url.path && a.origin == b.origin
    }
}
