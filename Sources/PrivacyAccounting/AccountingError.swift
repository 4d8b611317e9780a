/// A parameter of a privacy computation outside its domain.
///
/// Every public entry point of `PrivacyAccounting` checks its inputs and throws this error,
/// naming the parameter, the value it got and what was expected, instead of trapping.
public struct AccountingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The parameter's name as the API (and the CLI) spells it: `delta`, `noise_multiplier`,
    /// `sampling_probability`, `steps`, `epsilon`, `orders`, `discretization`.
    public let parameter: String
    /// The offending value, printed.
    public let value: String
    /// What the parameter must be.
    public let expected: String

    public init(parameter: String, value: String, expected: String) {
        self.parameter = parameter
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(parameter) = \(value): expected \(expected)" }
}

// MARK: - Checks shared by the entry points

enum Check {
    static func delta(_ delta: Double) throws(AccountingError) {
        guard delta > 0, delta < 1 else {
            throw AccountingError(parameter: "delta", value: "\(delta)", expected: "a number in (0, 1)")
        }
    }

    static func noiseMultiplier(_ sigma: Double) throws(AccountingError) {
        guard sigma > 0, sigma.isFinite else {
            throw AccountingError(parameter: "noise_multiplier", value: "\(sigma)", expected: "a finite number > 0")
        }
    }

    static func samplingProbability(_ q: Double) throws(AccountingError) {
        guard q > 0, q <= 1 else {
            throw AccountingError(parameter: "sampling_probability", value: "\(q)", expected: "a number in (0, 1]")
        }
    }

    static func steps(_ steps: Int) throws(AccountingError) {
        guard steps >= 0 else {
            throw AccountingError(parameter: "steps", value: "\(steps)", expected: "an integer ≥ 0")
        }
    }

    static func epsilon(_ epsilon: Double) throws(AccountingError) {
        guard epsilon > 0, epsilon.isFinite else {
            throw AccountingError(parameter: "epsilon", value: "\(epsilon)", expected: "a finite number > 0")
        }
    }
}
