// `/readyz`: the outbox accepts writes and every sink can reach its destination.
import RelayOutbox

enum Readiness {
    static func check(outbox: SQLiteOutbox, sinks: SinkFactory) async -> (ready: Bool, detail: String) {
        do {
            let settings = try outbox.durabilitySettings()
            guard settings.synchronous == 2, settings.journalMode == "wal" else {
                return (false, "outbox durability settings are wrong: synchronous=\(settings.synchronous) journal=\(settings.journalMode)")
            }
        } catch {
            return (false, "outbox not readable: \(error)")
        }
        return (true, "outbox writable (WAL, synchronous=FULL); \(sinks.summary)")
    }
}
