// Table-driven tests of the export SSRF policy: address categories, host patterns, schemes,
// userinfo and refusal messages.

import Foundation
import RelayCore
import RelayCurl
@testable import RelayExport
import Testing

@Suite struct ExportURLPolicyTests {
    let policy = ExportURLPolicy(source: "sitecore", settings: ExportSourceSettings(
        allowHosts: ["api.example.com", "*.sitecorecloud.io", "203.0.113.7", "[2001:db8::1]", "Plain.Example.NET"],
        allowPlainHTTP: ["plain.example.net"],
        allowPrivateAddresses: ["*.internal.sitecorecloud.io"]
    ))

    static let allowed = [
        "https://api.example.com/export/1?sig=abc",
        "https://API.Example.com./x",
        "https://eu.sitecorecloud.io/x",
        "https://a.b.sitecorecloud.io:8443/x",
        "https://203.0.113.7/x",
        "https://[2001:db8::1]/x",
        "https://[2001:db8:0:0::1]/x",
        "http://plain.example.net/x",
        "https://plain.example.net/x",
    ]

    @Test(arguments: allowed)
    func allowedURLs(_ url: String) throws {
        #expect(throws: Never.self) { try policy.check(url, context: "apiUrl") }
    }

    static let refused: [(url: String, because: String)] = [
        ("https://evil.com/x", "host 'evil.com' is not in source sitecore's export.allowHosts"),
        ("https://sitecorecloud.io/x", "host 'sitecorecloud.io' is not"),
        ("https://evilsitecorecloud.io/x", "host 'evilsitecorecloud.io' is not"),
        ("https://api.example.com.evil.com/x", "is not in source"),
        ("https://127.0.0.1/x", "host '127.0.0.1' is not"),
        ("https://2130706433/x", "host '127.0.0.1' is not"),
        ("https://[::1]/x", "host '[::1]' is not"),
        ("http://api.example.com/x", "plain http is refused"),
        ("ftp://api.example.com/x", "scheme 'ftp' is refused"),
        ("https://user:pw@api.example.com/x", "user name or password"),
        ("https://api.example.com\\@evil.com/x", "user name or password"),
        ("/relative/path", "is not a valid absolute URL"),
        ("https://", "is not a valid absolute URL"),
        ("https:///nohost", "host 'nohost' is not"),
    ]

    @Test(arguments: refused)
    func refusedURLs(_ url: String, _ because: String) {
        let failure = refusal { () throws(ExportFetchFailure) in try policy.check(url, context: "apiUrl") }
        #expect(failure?.isForbidden == true, "\(url)")
        #expect(because.isEmpty || failure?.reason.contains(because) == true, "\(url): \(failure?.reason ?? "allowed")")
    }

    @Test func wildcardNeverMatchesAnAddressLiteral() {
        let wide = ExportURLPolicy(source: "s", settings: ExportSourceSettings(allowHosts: ["*.0.0.1", "*.1"]))
        #expect(refusal { () throws(ExportFetchFailure) in try wide.check("https://127.0.0.1/", context: "apiUrl") }?.isForbidden == true)
        #expect(refusal { () throws(ExportFetchFailure) in try wide.check("https://a.0.0.1/", context: "apiUrl") } == nil)
    }

    @Test func hostRefusalNamesTheSourceTheListAndTheRedactedURL() {
        let failure = refusal { () throws(ExportFetchFailure) in try policy.check("https://evil.com/steal?sig=secret&token=t", context: "apiUrl") }
        #expect(failure?.reason == "apiUrl host 'evil.com' is not in source sitecore's export.allowHosts (api.example.com, *.sitecorecloud.io, 203.0.113.7, [2001:db8::1], Plain.Example.NET): https://evil.com/steal?…")
        let unparsable = refusal { () throws(ExportFetchFailure) in try policy.check("not a url?sig=secret", context: "apiUrl") }
        #expect(unparsable?.reason.contains("secret") == false)
    }

    @Test func peerCheckRefusesInternalAddressesUnlessTheHostMayHaveThem() throws {
        let url = try policy.check("https://api.example.com/x", context: "apiUrl")
        let check = try #require(policy.peerCheck(for: url))
        #expect(check("93.184.216.34", 443) == nil)
        #expect(check("2001:4860:4860::8888", 443) == nil)
        #expect(check("127.0.0.1", 443) == "'api.example.com' resolved to 127.0.0.1, a loopback address, and source sitecore's export.allowPrivateAddresses does not list it")
        #expect(check("10.0.0.5", 443)?.contains("a private address") == true)
        #expect(check("169.254.169.254", 443)?.contains("a link-local address") == true)
        #expect(check("::ffff:192.168.0.1", 443)?.contains("a private address") == true)

        let literal = try policy.check("https://203.0.113.7/x", context: "apiUrl")
        #expect(policy.peerCheck(for: literal)?("203.0.113.7", 443) == nil)

        let inside = try policy.check("https://db.internal.sitecorecloud.io/x", context: "apiUrl")
        #expect(policy.peerCheck(for: inside) == nil)
    }

    @Test func configuredURLsNeedOnlyTheSchemeRule() throws {
        #expect(try policy.checkConfigured("https://login.elsewhere.com/oauth/token", context: "tokenUrl").host == "login.elsewhere.com")
        #expect(try policy.checkConfigured("http://plain.example.net/token", context: "tokenUrl").scheme == "http")
        let refused = refusal { () throws(ExportFetchFailure) in try policy.checkConfigured("http://login.elsewhere.com/token", context: "tokenUrl") }
        #expect(refused?.reason.contains("plain http is refused") == true)
    }

    private func refusal(_ operation: () throws(ExportFetchFailure) -> CurlURL) -> ExportFetchFailure? {
        do {
            _ = try operation()
            return nil
        } catch {
            return error
        }
    }
}
