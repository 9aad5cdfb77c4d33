// How exports are fetched (per source) and forwarded (per route): the typed `export:` sections of the routing table.

/// Credentials the relay presents to a source's export URLs (SPEC §3).
package enum ExportCredentials: Sendable, Hashable {
    case none
    case bearer(token: SecretReference)
    case basic(username: String, password: SecretReference)
    case oauth2(OAuth2ClientCredentials)
}

/// OAuth2 client-credentials grant: the token is cached until shortly before it expires and
/// fetched again once when the export URL answers 401.
package struct OAuth2ClientCredentials: Sendable, Hashable {
    /// One extra form field of the token request, e.g. `audience` (some token endpoints require it).
    package struct Parameter: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(name: String, value: String) { self.name = name; self.value = value }
    }

    /// Form fields the relay sets itself; `extraParams` may not name them (`scope` has its own setting).
    package static let reservedParameters: Set<String> = ["grant_type", "scope", "client_id", "client_secret"]

    package var tokenURL: String
    package var clientID: String
    package var clientSecret: SecretReference
    package var scope: String?
    /// Sent after `grant_type` and `scope` in the token request's form body, in configuration order.
    package var extraParameters: [Parameter]

    package init(tokenURL: String, clientID: String, clientSecret: SecretReference, scope: String? = nil,
                extraParameters: [Parameter] = []) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.extraParameters = extraParameters
    }
}

/// A source's `export:` section: who we are to the export host and where `apiUrl` may point.
package struct ExportSourceSettings: Sendable, Hashable {
    package var credentials: ExportCredentials
    /// Host names `apiUrl` (and manifest file URLs, and redirects) may name: `host` or `*.domain`.
    package var allowHosts: [String]
    /// Hosts (from `allowHosts`) that may be fetched over plain `http://`.
    package var allowPlainHTTP: [String]
    /// Hosts (from `allowHosts`) that may resolve to loopback, link-local or private addresses.
    package var allowPrivateAddresses: [String]
    /// Most bytes accepted for one file as received (compressed size).
    package var maxFileBytes: Int
    /// Most redirects followed per request; each hop is checked again.
    package var maxRedirects: Int
    /// How long a not-ready (404) export is polled before the job is dead-lettered.
    package var pollDeadline: Duration
    /// First and longest wait between polls (exponential back-off with full jitter in between).
    package var pollInitialDelay: Duration
    package var pollMaxDelay: Duration
    /// PEM bundle of the CAs to trust for the export host instead of the system's.
    package var caFile: String?
    /// Longest wait for the next bytes of a file while the relay is asking for them (a host that
    /// stops sending mid-file); time the download is paused because destinations are behind does
    /// not count. The job is then retried from its checkpoint.
    package var stallTimeout: Duration

    package static let defaultMaxFileBytes = 50 << 30

    package init(credentials: ExportCredentials = .none, allowHosts: [String], allowPlainHTTP: [String] = [],
                allowPrivateAddresses: [String] = [], maxFileBytes: Int = ExportSourceSettings.defaultMaxFileBytes,
                maxRedirects: Int = 3, pollDeadline: Duration = .seconds(24 * 3600),
                pollInitialDelay: Duration = .seconds(5), pollMaxDelay: Duration = .seconds(300), caFile: String? = nil,
                stallTimeout: Duration = .seconds(120)) {
        self.stallTimeout = stallTimeout
        self.credentials = credentials
        self.allowHosts = allowHosts
        self.allowPlainHTTP = allowPlainHTTP
        self.allowPrivateAddresses = allowPrivateAddresses
        self.maxFileBytes = maxFileBytes
        self.maxRedirects = maxRedirects
        self.pollDeadline = pollDeadline
        self.pollInitialDelay = pollInitialDelay
        self.pollMaxDelay = pollMaxDelay
        self.caFile = caFile
    }
}

/// Data formats an export file may have (SPEC §3).
package enum ExportFormat: String, Sendable, Hashable, CaseIterable {
    /// One JSON object per line.
    case jsonLines = "jsonl"
    /// Comma-separated values with a header row (or the route's `export.csv` dialect); each row becomes an object of strings.
    case csv
    /// One JSON array of objects.
    case jsonArray = "json-array"
    /// One JSON object whose keys are profile ids; each entry becomes a record with its key.
    case jsonObject = "json-object"
}

/// A route's `export.csv` section: how its CSV files are written.
package struct ExportCSVOptions: Sendable, Hashable {
    /// The delimiters a file may use, as written in the routing table (tab also as `tab`).
    package static let delimiters: [String: UInt8] = [",": 0x2C, ";": 0x3B, "|": 0x7C, "\t": 0x09, "tab": 0x09]

    /// The field delimiter byte: `,` `;` `|` or tab.
    package var delimiter: UInt8
    /// False when the file has no header row: `columns` names the fields and every row is data.
    package var header: Bool
    /// The column names of a headerless file, in order (set exactly when `header` is false).
    package var columns: [String]?

    package init(delimiter: UInt8 = 0x2C, header: Bool = true, columns: [String]? = nil) {
        self.delimiter = delimiter
        self.header = header
        self.columns = columns
    }
}

/// A route's `export:` section: how the fetched records are shaped and forwarded.
package struct ExportForwarding: Sendable, Hashable {
    package enum MalformedPolicy: String, Sendable, Hashable {
        /// Count the bad record, report it with file and line, go on.
        case skip
        /// Dead-letter the whole job with the bad record's file and line.
        case fail
    }

    /// Forces a format instead of detecting it from Content-Type, file name and first bytes.
    package var format: ExportFormat?
    /// Kafka message key of each record, rendered over the record (nil: the record's own key for
    /// `json-object` files, else no key).
    package var key: Template?
    package var onMalformed: MalformedPolicy
    /// HTTP destinations receive NDJSON requests of at most this many records …
    package var batchRecords: Int
    /// … and at most about this many bytes.
    package var batchBytes: Int
    /// How CSV files are written (delimiter, header row or named columns).
    package var csv: ExportCSVOptions

    package init(format: ExportFormat? = nil, key: Template? = nil, onMalformed: MalformedPolicy = .skip,
                batchRecords: Int = 500, batchBytes: Int = 1 << 20, csv: ExportCSVOptions = ExportCSVOptions()) {
        self.csv = csv
        self.format = format
        self.key = key
        self.onMalformed = onMalformed
        self.batchRecords = batchRecords
        self.batchBytes = batchBytes
    }
}
