// Deadline arithmetic for librdkafka's millisecond timeouts.

/// Milliseconds left until `deadline` (at least 1), or nil once it has passed.
func milliseconds(until deadline: ContinuousClock.Instant) -> Int32? {
    let left = ContinuousClock.now.duration(to: deadline)
    guard left > .zero else { return nil }
    let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
    return Int32(clamping: max(1, milliseconds))
}
