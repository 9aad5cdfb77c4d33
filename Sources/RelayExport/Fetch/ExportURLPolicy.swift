// ExportURLPolicy: a source's SSRF rules for export URLs — scheme, host allow-list, no userinfo,
// and the connected-address check that refuses internal networks (SPEC §3).

import RelayCore
import RelayCurl
import RelayRecords

/// Where a source's export URLs may point. ``check(_:context:)`` runs on every URL before a
/// request (the notification's `apiUrl`, manifest file URLs, each redirect hop);
/// ``peerCheck(for:)`` runs on the address libcurl actually connected to, for every request on
/// every hop, so a name that resolves (or re-resolves: DNS rebinding) to an internal address is
/// refused before anything is sent.
package struct ExportURLPolicy: Sendable {
    /// The source's name, for messages.
    package let source: String
    /// Most redirects followed per request.
    package let maxRedirects: Int
    /// Most bytes accepted for one file as received.
    package let maxFileBytes: Int
    private let allowHosts: [HostPattern]
    private let plainHTTP: [HostPattern]
    private let privateAddresses: [HostPattern]

    package init(source: String, settings: ExportSourceSettings) {
        self.source = source
        maxRedirects = max(0, settings.maxRedirects)
        maxFileBytes = settings.maxFileBytes
        allowHosts = settings.allowHosts.map(HostPattern.init)
        plainHTTP = settings.allowPlainHTTP.map(HostPattern.init)
        privateAddresses = settings.allowPrivateAddresses.map(HostPattern.init)
    }

    /// Parses `url` with libcurl's parser and checks it; the returned URL's `text` is what the
    /// request must carry. `context` says what the URL is (`apiUrl`, `manifest file 2`).
    package func check(_ url: String, context: String) throws(ExportFetchFailure) -> CurlURL {
        let parsed = try parse(url, context: context)
        try check(parsed, context: context)
        return parsed
    }

    /// Checks a parsed URL: no user name or password, a host in `allowHosts`, and https (or
    /// http for a host in `allowPlainHTTP`).
    package func check(_ url: CurlURL, context: String) throws(ExportFetchFailure) {
        if url.hasUserInfo {
            throw .forbidden(reason: "\(context) \(url.redacted): URLs with a user name or password are refused")
        }
        guard allowHosts.contains(where: { $0.matches(url.host) }) else {
            let listed = allowHosts.isEmpty ? "none" : allowHosts.map(\.text).joined(separator: ", ")
            throw .forbidden(reason: "\(context) host '\(url.host)' is not in source \(source)'s export.allowHosts (\(listed)): \(url.redacted)")
        }
        try checkScheme(url, context: context)
    }

    /// Checks an operator-configured URL (the OAuth2 token URL): only the scheme rule applies.
    package func checkConfigured(_ url: String, context: String) throws(ExportFetchFailure) -> CurlURL {
        let parsed = try parse(url, context: context)
        try checkScheme(parsed, context: context)
        return parsed
    }

    /// `url` through libcurl's parser, refused (credentials redacted) when it is not an absolute URL.
    private func parse(_ url: String, context: String) throws(ExportFetchFailure) -> CurlURL {
        do {
            return try CurlURL(parsing: url)
        } catch {
            throw .forbidden(reason: "\(context) \(redactedText(url)) is not a valid absolute URL (\(error.message))")
        }
    }

    /// The check for the address a request to `url` connects to, or nil when the host is in
    /// `allowPrivateAddresses` (any address is then accepted). The answer is a refusal reason.
    package func peerCheck(for url: CurlURL) -> (@Sendable (_ address: String, _ port: Int) -> String?)? {
        if privateAddresses.contains(where: { $0.matches(url.host) }) { return nil }
        let host = url.host
        let source = self.source
        return { address, _ in
            let category = PeerAddress.category(of: address)
            guard category != .global else { return nil }
            let what = PeerAddress.isLiteral(host) ? "'\(host)' is" : "'\(host)' resolved to \(address),"
            return "\(what) \(category.label), and source \(source)'s export.allowPrivateAddresses does not list it"
        }
    }

    private func checkScheme(_ url: CurlURL, context: String) throws(ExportFetchFailure) {
        switch url.scheme {
        case "https":
            return
        case "http":
            if plainHTTP.contains(where: { $0.matches(url.host) }) { return }
            throw .forbidden(reason: "\(context) \(url.redacted): plain http is refused; https is required unless the host is in source \(source)'s export.allowPlainHTTP")
        default:
            throw .forbidden(reason: "\(context) \(url.redacted): scheme '\(url.scheme)' is refused; only https (or http for hosts in export.allowPlainHTTP)")
        }
    }
}

/// `text` cut at its query (`https://host/path?…`) and at 200 characters, for messages about
/// URLs that did not parse.
func redactedText(_ text: String) -> String {
    var shown = text
    if let query = shown.firstIndex(where: { $0 == "?" || $0 == "#" }) {
        shown = String(shown[..<query]) + "?…"
    }
    if shown.count > 200 { shown = String(shown.prefix(200)) + "…" }
    return "'\(shown)'"
}

/// One `allowHosts` entry: `host` (exact, also an IP literal) or `*.domain` (any subdomain of
/// `domain`, not `domain` itself, never an IP literal). Compared without regard to ASCII case,
/// ignoring one trailing dot and the brackets of IPv6 literals.
struct HostPattern: Sendable {
    /// The entry as configured, for messages.
    let text: String
    private let name: String
    private let isWildcard: Bool

    init(_ text: String) {
        self.text = text
        let normalized = HostPattern.normalize(text)
        if normalized.hasPrefix("*.") {
            isWildcard = true
            name = String(normalized.dropFirst(1))  // ".domain"
        } else {
            isWildcard = false
            name = normalized
        }
    }

    func matches(_ host: String) -> Bool {
        let candidate = HostPattern.normalize(host)
        guard isWildcard else { return candidate == name }
        return !PeerAddress.isLiteral(candidate) && candidate.count > name.count && candidate.hasSuffix(name)
    }

    private static func normalize(_ host: String) -> String {
        if let address = PeerAddress.canonical(host) { return address }
        var text = host.lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
