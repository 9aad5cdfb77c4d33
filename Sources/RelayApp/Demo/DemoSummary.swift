// The demo's progress line and its one-line summary.

/// How the demo ended: what arrived, how long it took, and why it failed if it did.
struct DemoSummary: Sendable {
    var tally = DemoTally()
    /// From the notification's 200 to the last message read.
    var elapsed: Duration?
    var timeout: Duration?
    /// Why the demo could not finish, when something stopped it before the timeout.
    var failure: String?
    /// The last error reading the topics back, if one happened.
    var lastError: String?

    func succeeded(expectedRecords: Int) -> Bool {
        failure == nil && tally.isComplete(expectedRecords: expectedRecords)
    }

    /// `demo: 1 notification and 10000/10000 export records arrived on the embedded Kafka in 3.2 s (export.completed seen)`,
    /// or `demo: FAILED: …` naming what is missing.
    func line(expectedRecords: Int) -> String {
        let seconds = elapsed.map { Self.seconds($0) } ?? "?"
        let notifications = "\(tally.notifications) notification\(tally.notifications == 1 ? "" : "s")"
        if succeeded(expectedRecords: expectedRecords) {
            return "demo: \(notifications) and \(tally.records)/\(expectedRecords) export records arrived on the embedded Kafka in \(seconds) s (export.completed seen)"
        }
        var missing: [String] = []
        if tally.notifications < 1 { missing.append("the notification") }
        if tally.records < expectedRecords { missing.append("\(expectedRecords - tally.records) export records") }
        if !tally.started { missing.append("export.started") }
        if !tally.completed { missing.append("export.completed") }
        var text = "demo: FAILED: " + (failure ?? timeout.map { "not everything arrived within \(Self.seconds($0)) s" } ?? "stopped early")
        if let lastError { text += "; last read error: \(lastError)" }
        if elapsed != nil {
            text += " — \(notifications) and \(tally.records)/\(expectedRecords) export records arrived"
            if !missing.isEmpty { text += "; missing: \(missing.joined(separator: ", "))" }
        }
        return text
    }

    /// `records on demo.records: 4000/10000 · notification: yes · export.started: yes · export.completed: not yet`
    static func progressLine(_ tally: DemoTally, expectedRecords: Int) -> String {
        "records on \(DemoRoutes.recordsTopic): \(tally.records)/\(expectedRecords)"
            + " · notification: \(tally.notifications >= 1 ? "yes" : "not yet")"
            + " · export.started: \(tally.started ? "yes" : "not yet")"
            + " · export.completed: \(tally.completed ? "yes" : "not yet")"
    }

    private static func seconds(_ duration: Duration) -> String {
        let tenths = (duration.components.seconds * 10) + duration.components.attoseconds / 100_000_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
