import Foundation
import PackagePlugin

/// Generates `CodeFingerprint.swift` for the target it is applied to: the SHA-256 of every
/// source file of the package's targets in `Sources/` and of `Package.swift` (paths relative to
/// the package, so the same code gives the same fingerprint on any machine), and the git commit
/// the package was built from when it is a git checkout. The command is re-run whenever one of
/// those files changes, so a rebuilt binary always carries the fingerprint of its own sources.
@main
struct CodeFingerprintPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let sources = root.appending(path: "Sources").standardizedFileURL.path + "/"
        var inputs: Set<URL> = [root.appending(path: "Package.swift")]
        for candidate in context.package.targets {
            guard candidate.directoryURL.standardizedFileURL.path.hasPrefix(sources) else { continue }
            if let module = candidate as? SourceModuleTarget {
                for file in module.sourceFiles { inputs.insert(file.url) }
            }
            // System-library targets (module maps, shims) have no source list: take their folder's files.
            if let files = FileManager.default.enumerator(at: candidate.directoryURL, includingPropertiesForKeys: [.isRegularFileKey]) {
                for case let url as URL in files where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                    inputs.insert(url)
                }
            }
        }
        var gitInputs: [URL] = []
        if let git = GitCheckout(root: root) { gitInputs = git.filesNamingTheCommit }
        let output = context.pluginWorkDirectoryURL.appending(path: "CodeFingerprint.swift")
        let files = inputs.map(\.standardizedFileURL).sorted { $0.path < $1.path }
        return [.buildCommand(
            displayName: "Fingerprinting the sources of \(target.name)",
            executable: try context.tool(named: "privacy-lab-fingerprint").url,
            arguments: [root.path, output.path] + files.map(\.path),
            inputFiles: files + gitInputs,
            outputFiles: [output])]
    }
}

/// The files whose change means a new commit (HEAD and the branch it names), so the plugin runs
/// again after a commit even when no source changed.
struct GitCheckout {
    var filesNamingTheCommit: [URL]

    init?(root: URL) {
        var gitDirectory = root.appending(path: ".git")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: gitDirectory.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue {
            // A worktree: `.git` is a file "gitdir: PATH".
            guard let text = try? String(contentsOf: gitDirectory, encoding: .utf8),
                  let line = text.split(separator: "\n").first, line.hasPrefix("gitdir: ") else { return nil }
            gitDirectory = URL(fileURLWithPath: String(line.dropFirst("gitdir: ".count)), relativeTo: root)
        }
        let head = gitDirectory.appending(path: "HEAD")
        filesNamingTheCommit = [head]
        if let text = try? String(contentsOf: head, encoding: .utf8), text.hasPrefix("ref: ") {
            let ref = text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)
            var common = gitDirectory
            if let commondir = try? String(contentsOf: gitDirectory.appending(path: "commondir"), encoding: .utf8) {
                common = URL(fileURLWithPath: commondir.trimmingCharacters(in: .whitespacesAndNewlines), relativeTo: gitDirectory)
            }
            let refFile = common.appending(path: ref)
            if FileManager.default.fileExists(atPath: refFile.path) { filesNamingTheCommit.append(refFile) }
        }
    }
}
