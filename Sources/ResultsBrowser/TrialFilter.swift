/// A condition on a trial's parameter or metric, as typed in the browser's filter boxes:
/// `model.epochs>=10`, `lira.auc>0.6`, `model.optimizer=adam`, `dp.epsilon!=8`.
///
/// Comparisons `<`, `<=`, `>`, `>=` are numeric; `=` and `!=` compare numbers as numbers when both
/// sides are numbers (`10` equals `10.0`) and text otherwise. A trial without the key fails every
/// condition but `!=`.
public struct TrialFilter: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        // Two-character operators first: `>=` is not `>` followed by `=…`.
        case lessOrEqual = "<=", greaterOrEqual = ">=", notEqual = "!=", less = "<", greater = ">", equal = "="
    }

    public var key: String
    public var comparison: Comparison
    public var value: String

    public init(key: String, comparison: Comparison, value: String) {
        self.key = key
        self.comparison = comparison
        self.value = value
    }

    /// Parses `key<op>value`.
    /// - Throws: `.badRequest` naming the text when it has no operator, no key, or an ordering
    ///   comparison with a value that is not a number.
    public init(parsing text: String, what: String) throws(BrowserError) {
        let trimmed = text.trimmingWhitespace
        // The first operator character splits key and value.
        guard let start = trimmed.firstIndex(where: { "<>=!".contains($0) }) else {
            throw .badRequest("\(what) filter '\(trimmed)' has no comparison (write key=value, key>number, key<=number…)")
        }
        let rest = trimmed[start...]
        guard let comparison = Comparison.allCases.first(where: { rest.hasPrefix($0.rawValue) }) else {
            throw .badRequest("\(what) filter '\(trimmed)': '\(rest.prefix(2))' is no comparison (use = != < <= > >=)")
        }
        let key = String(trimmed[..<start]).trimmingWhitespace
        let value = String(rest.dropFirst(comparison.rawValue.count)).trimmingWhitespace
        guard !key.isEmpty else { throw .badRequest("\(what) filter '\(trimmed)' names no key") }
        switch comparison {
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let number = Double(value), number.isFinite else {
                throw .badRequest("\(what) filter '\(trimmed)': '\(value)' is not a number")
            }
        case .equal, .notEqual: break
        }
        self.init(key: key, comparison: comparison, value: value)
    }

    /// Whether `actual` (the trial's value of `key`, `nil` when it has none) passes.
    public func accepts(_ actual: String?) -> Bool {
        guard let actual else { return comparison == .notEqual }
        let a = Double(actual), b = Double(value)
        switch comparison {
        case .equal, .notEqual:
            let same = if let a, let b { a == b } else { actual == value }
            return comparison == .equal ? same : !same
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let a, let b else { return false }
            switch comparison {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            default: return a >= b
            }
        }
    }

    public var text: String { "\(key)\(comparison.rawValue)\(value)" }
}

extension StringProtocol {
    var trimmingWhitespace: String {
        var s = self[...]
        while let first = s.first, first.isWhitespace { s = s.dropFirst() }
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
