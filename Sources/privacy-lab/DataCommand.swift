import ArgumentParser
import Foundation
import PrivacyLab

extension DatasetName: ExpressibleByArgument {}

/// `privacy-lab data list | verify [NAME] | path NAME`: the datasets the lab knows by name.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "List, verify and locate the datasets PrivacyLab knows by name.",
        subcommands: [List.self, Verify.self, Path.self])

    /// `--data-dir`, falling back to `$PRIVACY_LAB_DATA`, then `./data`.
    struct Location: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "The data folder (default: $PRIVACY_LAB_DATA, else ./data).")
        var dataDirectory: String?

        /// The one place the environment is read: here, in the CLI layer.
        func resolve() -> DataDirectory {
            DataDirectory.resolve(
                explicit: dataDirectory,
                environmentValue: ProcessInfo.processInfo.environment["PRIVACY_LAB_DATA"],
                currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Name, shape, classes and presence of each dataset.")
        @OptionGroup var location: Location
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() throws {
            let directory = location.resolve()
            if json {
                let datasets: [[String: Any]] = DatasetRegistry.all.map { d in
                    ["name": d.name.rawValue, "shape": d.shapeDescription, "classes": d.classCount,
                     "present": DatasetRegistry.isPresent(d.name, in: directory)]
                }
                printJSON(["data_directory": directory.url.path, "datasets": datasets])
                return
            }
            print("data directory: \(directory)")
            let rows = DatasetRegistry.all.map { d in
                [d.name.rawValue, d.shapeDescription, String(d.classCount),
                 DatasetRegistry.isPresent(d.name, in: directory) ? "present" : "absent"]
            }
            printTable(header: ["name", "shape (train+test × sample)", "classes", "files"], rows: rows)
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check files against their known size and sha256; exits non-zero on any mismatch.",
            discussion: "Without NAME every dataset is checked and absent ones are only reported; with NAME the dataset must be present.")
        @OptionGroup var location: Location
        @Argument(help: "A dataset name (\(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))).")
        var name: DatasetName?
        @Flag(help: "Print one JSON object (every dataset's status and every file that is not ok) instead of lines.") var json = false

        func run() throws {
            let directory = location.resolve()
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.url.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw CLIError("data directory \(directory.url.path) does not exist (or is not a folder); give --data-dir or set PRIVACY_LAB_DATA")
            }
            if json {
                var failed = false
                let datasets: [[String: Any]] = (name.map { [$0] } ?? DatasetName.allCases).map { dataset in
                    let report = DatasetRegistry.verify(dataset, in: directory)
                    let status = report.isAbsent && name == nil ? "absent" : report.passed ? "ok" : "failed"
                    if status == "failed" { failed = true }
                    return ["name": dataset.rawValue, "status": status,
                            "files_checked": report.checks.count, "files_ok": report.checks.filter { $0.status == .ok }.count,
                            "problems": report.checks.filter { $0.status != .ok }.map(\.summary)]
                }
                printJSON(["data_directory": directory.url.path, "passed": !failed, "datasets": datasets])
                if failed { throw ExitCode(1) }
                return
            }
            print("data directory: \(directory)")
            var failed = false
            for dataset in name.map({ [$0] }) ?? DatasetName.allCases {
                let report = DatasetRegistry.verify(dataset, in: directory)
                if report.isAbsent && name == nil {
                    print("absent    \(dataset.rawValue)")
                    continue
                }
                let ok = report.checks.filter { $0.status == .ok }.count
                if report.passed {
                    print("ok        \(dataset.rawValue) (\(ok) of \(report.checks.count) files checked)")
                } else {
                    failed = true
                    print("FAILED    \(dataset.rawValue) (\(ok) of \(report.checks.count) files ok)")
                }
                for check in report.checks where check.status != .ok {
                    print("  " + check.summary)
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print where a dataset's files are (its file or folder).")
        @OptionGroup var location: Location
        @Argument(help: "A dataset name.")
        var name: DatasetName

        func run() throws {
            let directory = location.resolve()
            let descriptor = DatasetRegistry.descriptor(name)
            print(directory.file(descriptor.relativeLocation).path)
            if let missing = descriptor.dataFiles.first(where: { !FileManager.default.fileExists(atPath: directory.file($0.relativePath).path) }) {
                let error = DatasetRegistry.missingFileError(name, file: missing, in: directory)
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// Prints left-aligned columns.
private func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
    for row in all {
        print(row.enumerated().map { c, cell in
            c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
        }.joined(separator: "  "))
    }
}

/// Prints a JSON object with sorted keys on one line.
func printJSON(_ object: Any) {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
    print(String(decoding: data, as: UTF8.self))
}
