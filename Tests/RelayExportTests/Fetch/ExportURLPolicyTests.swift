// Table-driven tests of the export SSRF policy: address categories, host patterns, schemes,
// userinfo and refusal messages.

import Foundation
import RelayCore
import RelayCurl
import Testing
@testable import RelayExport

@Suite struct PeerAddressTests {
    static let table: [(String, PeerAddressCategory)] = [
        ("8.8.8.8", .global), ("1.1.1.1", .global), ("203.0.113.7", .global),
        ("127.0.0.1", .loopback), ("127.255.255.254", .loopback),
        ("10.0.0.1", .privateNetwork), ("10.255.255.255", .privateNetwork),
        ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork), ("172.15.255.255", .global), ("172.32.0.1", .global),
        ("192.168.0.1", .privateNetwork), ("192.169.0.1", .global),
        ("169.254.169.254", .linkLocal), ("169.255.0.1", .global),
        ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace), ("100.63.255.255", .global), ("100.128.0.1", .global),
        ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified),
        ("224.0.0.1", .multicast), ("239.255.255.250", .multicast),
        ("240.0.0.1", .reserved), ("255.255.255.255", .reserved), ("192.0.0.8", .reserved), ("198.18.0.1", .reserved),
        ("::1", .loopback), ("[::1]", .loopback), ("0:0:0:0:0:0:0:1", .loopback),
        ("::", .unspecified),
        ("fe80::1", .linkLocal), ("fe80::1%eth0", .linkLocal), ("febf::1", .linkLocal),
        ("fec0::1", .privateNetwork), ("fc00::1", .privateNetwork), ("fd12:3456:789a::1", .privateNetwork),
        ("ff02::1", .multicast), ("ff0e::1", .multicast),
        ("2001:4860:4860::8888", .global), ("2a00:1450:4001::200e", .global),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::FFFF:10.0.0.1", .privateNetwork),
        ("::ffff:169.254.169.254", .linkLocal), ("::ffff:100.64.0.1", .sharedAddressSpace), ("::ffff:0.0.0.0", .unspecified),
        ("::ffff:8.8.8.8", .global),
        ("::127.0.0.1", .loopback), ("::10.0.0.1", .privateNetwork), ("::8.8.8.8", .reserved),
        ("64:ff9b::a9fe:a9fe", .linkLocal), ("64:ff9b::7f00:1", .loopback), ("64:ff9b::808:808", .global), ("64:ff9b:1::1", .privateNetwork),
        ("2002:7f00:1::1", .loopback), ("2002:c0a8:101::1", .privateNetwork), ("2002:808:808::1", .global),
        ("localhost", .notAnAddress), ("example.com", .notAnAddress), ("1.2.3", .notAnAddress), ("", .notAnAddress),
    ]

    @Test(arguments: table)
    func category(_ address: String, _ expected: PeerAddressCategory) {
        #expect(PeerAddress.category(of: address) == expected, "\(address)")
    }

    @Test func canonicalLiterals() {
        #expect(PeerAddress.canonical("0:0:0:0:0:0:0:1") == "::1")
        #expect(PeerAddress.canonical("[::FFFF:7f00:1]") == "::ffff:127.0.0.1")
        #expect(PeerAddress.canonical("127.0.0.1") == "127.0.0.1")
        #expect(PeerAddress.canonical("localhost") == nil)
    }
}

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
