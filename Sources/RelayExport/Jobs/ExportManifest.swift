// The manifest an export URL may answer with instead of the data: the list of files to fetch in turn.
import Foundation
import RelayCurl

/// `{"files": [{"url": …, "size"?: …, "expiresAt"?: …, "change"?: "added" | "removed"}, …]}`.
/// A delta export marks each part: `change`, or `type`/`kind`/`operation` with the same values,
/// or `"removed": true` / `"deleted": true`.
struct ExportManifest: Sendable, Equatable {
    struct File: Sendable, Equatable {
        var url: String
        var size: Int64?
        var expiresAt: String?
        var change: String?
    }

    var files: [File]

    /// Largest body looked at as a possible manifest; bigger bodies are data.
    static let maxBytes = 4 << 20

    /// The manifest in `body`, nil when the body is not one (e.g. a JSON object keyed by profile id).
    /// A body shaped like a manifest whose entries are unusable is an error, not data.
    static func parse(_ body: [UInt8], baseURL: String) throws(ExportJobFailure) -> ExportManifest? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let entries = object["files"] as? [Any] else { return nil }
        guard !entries.isEmpty else { throw .dead("the export manifest at \(ExportURLs.redacted(baseURL)) lists no files") }
        var files: [File] = []
        for (index, entry) in entries.enumerated() {
            guard let fields = entry as? [String: Any], let rawURL = fields["url"] as? String, !rawURL.isEmpty else {
                throw .dead("export manifest entry \(index) has no url")
            }
            guard let url = ExportURLs.resolve(rawURL, against: baseURL) else {
                throw .dead("export manifest entry \(index) has an unusable url '\(ExportURLs.redacted(rawURL))'")
            }
            let size = (fields["size"] as? NSNumber)?.int64Value
            let expiresAt = fields["expiresAt"] as? String ?? fields["expires"] as? String
            files.append(File(url: url, size: size, expiresAt: expiresAt, change: try change(of: fields, index: index)))
        }
        return ExportManifest(files: files)
    }

    private static func change(of fields: [String: Any], index: Int) throws(ExportJobFailure) -> String? {
        for key in ["change", "type", "kind", "operation"] {
            guard let value = fields[key] as? String else { continue }
            switch value.lowercased() {
            case "added", "add", "upsert", "insert": return "added"
            case "removed", "remove", "delete", "deleted": return "removed"
            default: throw .dead("export manifest entry \(index): \(key) '\(value)' is neither added nor removed")
            }
        }
        if (fields["removed"] as? Bool) == true || (fields["deleted"] as? Bool) == true { return "removed" }
        if (fields["added"] as? Bool) == true { return "added" }
        return nil
    }
}

/// URL helpers that keep pre-signed query strings out of logs and stored errors.
enum ExportURLs {
    /// `https://host/path?…` — the query (often a signature) is not shown.
    static func redacted(_ url: String) -> String {
        guard let query = url.firstIndex(of: "?") else { return url }
        return String(url[..<query]) + "?…"
    }

    /// An absolute http(s) URL for `reference` (absolute, or relative to `base`), resolved by
    /// libcurl's own parser like redirects, so the fetcher checks what libcurl will request.
    static func resolve(_ reference: String, against base: String) -> String? {
        guard let url = try? CurlURL(parsing: base).resolving(reference), url.scheme == "http" || url.scheme == "https" else {
            return nil
        }
        return url.text
    }

    /// The last path segment, for format detection by file name.
    static func fileName(_ url: String) -> String? {
        guard let path = try? CurlURL(parsing: url).path else { return nil }
        return path.split(separator: "/").last.map(String.init)
    }
}
