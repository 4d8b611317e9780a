import ExperimentStore
import Foundation

/// Where a run reports its progress.
public protocol ProgressReporting: Sendable {
    func started(run: String, name: String, total: Int, done: Int)
    func trialStarted(index: Int, parameters: String)
    func trialFinished(index: Int, seconds: Double, metrics: [Metric])
    func message(_ text: String)
    func finished()
}

/// Progress on standard error: a bar with counts, ETA and the current trial on a terminal,
/// plain lines otherwise (logs, CI).
public final class TerminalProgress: ProgressReporting, @unchecked Sendable {
    private let lock = NSLock()
    private let interactive: Bool
    private var total = 0, done = 0, startedAt = Date()
    private var current: [Int: String] = [:]
    private var lastWidth = 0

    public init(interactive: Bool = isatty(STDERR_FILENO) != 0) {
        self.interactive = interactive
    }

    func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }

    public func started(run: String, name: String, total: Int, done: Int) {
        lock.withLock {
            self.total = total
            self.done = done
            startedAt = Date()
            write("run \(run) (\(name)): \(total) trial\(total == 1 ? "" : "s")\(done > 0 ? ", \(done) already done" : "")\n")
            redraw()
        }
    }

    public func trialStarted(index: Int, parameters: String) {
        lock.withLock {
            current[index] = parameters
            if interactive { redraw() } else { write("trial \(index) started \(parameters == "{}" ? "" : parameters)\n") }
        }
    }

    public func trialFinished(index: Int, seconds: Double, metrics: [Metric]) {
        lock.withLock {
            current[index] = nil
            done += 1
            if interactive { redraw() } else {
                write("trial \(index) done in \(String(format: "%.1f", seconds)) s (\(done)/\(total))\n")
            }
        }
    }

    public func message(_ text: String) {
        lock.withLock {
            if interactive { clearLine() }
            write(text + "\n")
            if interactive { redraw() }
        }
    }

    public func finished() {
        lock.withLock {
            if interactive { clearLine() }
        }
    }

    private func clearLine() {
        write("\r" + String(repeating: " ", count: lastWidth) + "\r")
    }

    private func redraw() {
        guard interactive, total > 0 else { return }
        let width = 24
        let filled = total == 0 ? width : width * done / total
        let elapsed = Date().timeIntervalSince(startedAt)
        var eta = ""
        if done > 0 && done < total {
            eta = " ETA " + Self.duration(elapsed / Double(done) * Double(total - done))
        }
        let now = current.keys.sorted().first.map { " · trial \($0) \(current[$0]! == "{}" ? "" : current[$0]!)" } ?? ""
        let line = "[" + String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled) + "] \(done)/\(total)\(eta)\(now)"
        clearLine()
        write(line)
        lastWidth = line.count
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e12 else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
