// Comparison whose running time does not depend on where two secrets differ.

package enum ConstantTime {
    /// True when `a == b`; always walks all of `expected` so timing does not reveal a matching prefix.
    package static func equals(_ given: some Collection<UInt8>, _ expected: some Collection<UInt8>) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        var givenIterator = given.makeIterator()
        for e in expected {
            let g = givenIterator.next() ?? ~e
            difference |= g ^ e
        }
        return difference == 0 && given.count == expected.count
    }
}
