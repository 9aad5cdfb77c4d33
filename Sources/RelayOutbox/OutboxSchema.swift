// Versioned schema of the SQLite outbox: events, deliveries, export jobs.
import GRDB

enum OutboxSchema {
    /// Delivery states as stored (in flight is a dispatcher-memory state, so a crash returns work to pending).
    /// A `queued` row is pending while its id is above its destination's `delivery_cursors.delivered_through`
    /// and delivered once the cursor passes it: the common case costs no write per delivery.
    enum State: Int {
        case queued = 0
        /// Failed at least once (or replayed): pending whatever the cursor says, due at `next_attempt_at`.
        case retrying = 1
        case delivered = 2
        case dead = 3
    }

    /// The columns of `events` after its key, as v1 created them and v5 rebuilt them. Frozen: a
    /// migration runs as first released, so this text never changes.
    private static let eventColumns = """
        source TEXT NOT NULL,
        type TEXT NOT NULL,
        subject TEXT,
        dedupe_key TEXT NOT NULL,
        received_at REAL NOT NULL,
        body BLOB NOT NULL,
        UNIQUE (source, dedupe_key)
        """

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: events, deliveries, export jobs") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    id TEXT PRIMARY KEY NOT NULL,
                    \(eventColumns)
                );
                CREATE TABLE deliveries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id TEXT NOT NULL REFERENCES events(id),
                    destination TEXT NOT NULL,
                    route TEXT NOT NULL,
                    msg_key TEXT,
                    headers TEXT NOT NULL DEFAULT '[]',
                    state INTEGER NOT NULL DEFAULT 0,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    next_attempt_at REAL NOT NULL,
                    finished_at REAL,
                    last_error TEXT
                );
                CREATE INDEX deliveries_due ON deliveries (destination, state, id);
                CREATE INDEX deliveries_by_key ON deliveries (destination, msg_key, id) WHERE state = 0;
                CREATE INDEX deliveries_finished ON deliveries (state, finished_at) WHERE state = 2;
                CREATE TABLE export_jobs (
                    event_id TEXT PRIMARY KEY NOT NULL REFERENCES events(id),
                    state INTEGER NOT NULL DEFAULT 0,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    checkpoint_file INTEGER NOT NULL DEFAULT 0,
                    checkpoint_record INTEGER NOT NULL DEFAULT 0,
                    records_sent INTEGER NOT NULL DEFAULT 0,
                    bytes_received INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    last_error TEXT
                );
                """)
        }
        migrator.registerMigration("v2: export jobs know their route, destinations and progress") { db in
            try db.execute(sql: """
                ALTER TABLE export_jobs ADD COLUMN source TEXT NOT NULL DEFAULT '';
                ALTER TABLE export_jobs ADD COLUMN route TEXT NOT NULL DEFAULT '';
                ALTER TABLE export_jobs ADD COLUMN destinations TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE export_jobs ADD COLUMN execution_ref TEXT NOT NULL DEFAULT '';
                ALTER TABLE export_jobs ADD COLUMN api_url TEXT NOT NULL DEFAULT '';
                ALTER TABLE export_jobs ADD COLUMN file_count INTEGER;
                ALTER TABLE export_jobs ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE export_jobs ADD COLUMN records_malformed INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE export_jobs ADD COLUMN records_dead INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE export_jobs ADD COLUMN finished_at REAL;
                CREATE INDEX export_jobs_due ON export_jobs (state, next_attempt_at);
                CREATE INDEX export_jobs_by_ref ON export_jobs (execution_ref);
                """)
        }
        // Per-key order is kept in the dispatcher's memory, so nothing reads deliveries by key; and
        // partial indexes over pending and dead rows cost one index entry per append and per
        // outcome instead of several (every append and every delivered row pays for them).
        migrator.registerMigration("v3: partial indexes for pending and dead deliveries") { db in
            try db.execute(sql: """
                DROP INDEX deliveries_by_key;
                DROP INDEX deliveries_due;
                CREATE INDEX deliveries_pending ON deliveries (destination, id) WHERE state = 0;
                CREATE INDEX deliveries_dead ON deliveries (destination, id) WHERE state = 3;
                """)
        }
        migrator.registerMigration("v4: export jobs recorded before v2 get their source, executionRef and apiUrl") { db in
            // Their route and destinations were never stored: the runner takes them from the routing table.
            try db.execute(sql: """
                UPDATE export_jobs SET
                    source = (SELECT e.source FROM events e WHERE e.id = export_jobs.event_id),
                    execution_ref = COALESCE((SELECT json_extract(CAST(e.body AS TEXT), '$.executionRef')
                                              FROM events e WHERE e.id = export_jobs.event_id), ''),
                    api_url = COALESCE((SELECT json_extract(CAST(e.body AS TEXT), '$.apiUrl')
                                        FROM events e WHERE e.id = export_jobs.event_id), '')
                WHERE source = ''
                """)
        }
        // Delivered rows are no longer updated one by one: each destination keeps a cursor below which
        // its queued rows count as delivered (only retries, dead letters and replays write a row). And
        // the dispatcher joins a delivery to its event by an integer key: `events` gets an explicit
        // INTEGER PRIMARY KEY (`seq`, the old rowid, which VACUUM may not renumber), `deliveries` its copy.
        migrator.registerMigration("v5: delivery cursors, retrying state, integer event keys") { db in
            try db.execute(sql: """
                CREATE TABLE events_v5 (
                    seq INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    \(eventColumns)
                );
                INSERT INTO events_v5 (seq, id, source, type, subject, dedupe_key, received_at, body)
                    SELECT rowid, id, source, type, subject, dedupe_key, received_at, body FROM events;
                DROP TABLE events;
                ALTER TABLE events_v5 RENAME TO events;
                ALTER TABLE deliveries ADD COLUMN event_seq INTEGER;
                UPDATE deliveries SET event_seq = (SELECT e.seq FROM events e WHERE e.id = deliveries.event_id);
                CREATE TABLE delivery_cursors (
                    destination TEXT PRIMARY KEY NOT NULL,
                    delivered_through INTEGER NOT NULL
                );
                CREATE INDEX deliveries_retrying ON deliveries (destination, id) WHERE state = 1;
                """)
        }
        // Sitecore's default dedupe key became (executionRef, status). Events stored with the old
        // default (a key equal to their executionRef) get the new form, so a notification accepted
        // before the upgrade is still recognised when it is sent again within the retention window.
        // A key another event of the source already has is left alone (`OR IGNORE`): that event
        // answers for it. Bodies are JSON objects (validated at ingest); `json_valid` guards anyway.
        migrator.registerMigration("v6: Sitecore dedupe keys include the status") { db in
            try db.execute(sql: """
                UPDATE OR IGNORE events SET
                    dedupe_key = dedupe_key || '|' ||
                        COALESCE(CASE WHEN json_valid(CAST(body AS TEXT))
                                      THEN json_extract(CAST(body AS TEXT), '$.status') END, '')
                WHERE type = 'com.sitecore.cdp.audience-export.notification'
                  AND dedupe_key = COALESCE(CASE WHEN json_valid(CAST(body AS TEXT))
                                                 THEN json_extract(CAST(body AS TEXT), '$.executionRef') END, '')
                """)
        }
        return migrator
    }

    /// Name of the newest migration before v6 (for tests that build an outbox as v5 left it).
    static let v5 = "v5: delivery cursors, retrying state, integer event keys"
}
