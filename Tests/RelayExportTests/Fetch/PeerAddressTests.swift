// Tests of PeerAddress: which connected addresses the export fetcher refuses (loopback, private, mapped IPv6…).
import Foundation
import RelayCore
import RelayCurl
@testable import RelayExport
import Testing

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
