// What one fuzz input did, and the invariants it broke: the fuzzers trap on a violation, the tests expect none.

/// The outcome of one input through a fuzz entry point.
package struct FuzzReport: Sendable, CustomStringConvertible {
    /// What the production code answered (for replays and test failures), e.g. `400 body is empty…`.
    package var verdict: String
    /// Every invariant the input broke; empty when all held.
    package var violations: [String]

    package init(verdict: String, violations: [String]) {
        self.verdict = verdict
        self.violations = violations
    }

    package var description: String {
        violations.isEmpty ? verdict : "\(verdict)\n  broken: \(violations.joined(separator: "\n  broken: "))"
    }
}
