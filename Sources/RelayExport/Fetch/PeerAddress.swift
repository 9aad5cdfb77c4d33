// PeerAddress: what kind of network an IP address belongs to, for refusing internal peers (SSRF).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kind of network an IP address is on. Anything but ``global`` is refused as an export
/// peer unless the URL's host is in the source's `allowPrivateAddresses`.
package enum PeerAddressCategory: Sendable, Hashable, CaseIterable {
    /// Routable on the internet.
    case global
    /// 127.0.0.0/8, ::1.
    case loopback
    /// 169.254.0.0/16, fe80::/10.
    case linkLocal
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 (site-local), 64:ff9b:1::/48 (local NAT64).
    case privateNetwork
    /// 100.64.0.0/10, carrier-grade NAT.
    case sharedAddressSpace
    /// 0.0.0.0/8 and :: (on Linux a connection to them reaches the host itself).
    case unspecified
    /// 224.0.0.0/4, ff00::/8.
    case multicast
    /// 240.0.0.0/4 (with 255.255.255.255), 192.0.0.0/24, 198.18.0.0/15, and IPv4-compatible
    /// IPv6 addresses (::a.b.c.d) of otherwise global IPv4 addresses.
    case reserved
    /// Not an IPv4 or IPv6 address at all.
    case notAnAddress

    /// Words for refusal messages (`a loopback address`).
    package var label: String {
        switch self {
        case .global: return "a global address"
        case .loopback: return "a loopback address"
        case .linkLocal: return "a link-local address"
        case .privateNetwork: return "a private address"
        case .sharedAddressSpace: return "a carrier-grade NAT (shared) address"
        case .unspecified: return "an unspecified address"
        case .multicast: return "a multicast address"
        case .reserved: return "a reserved address"
        case .notAnAddress: return "not an IP address"
        }
    }
}

/// Classifies peer addresses as libcurl reports them (`203.0.113.7`, `2001:db8::1`, `fe80::1%eth0`).
package enum PeerAddress {
    /// The category of `address`; IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`,
    /// compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that address.
    package static func category(of address: String) -> PeerAddressCategory {
        var text = address
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let zone = text.firstIndex(of: "%") { text = String(text[..<zone]) }
        if let v4 = parse(text, family: AF_INET, count: 4) {
            return category(ipv4: v4[0], v4[1], v4[2], v4[3])
        }
        if let v6 = parse(text, family: AF_INET6, count: 16) {
            return category(ipv6: v6)
        }
        return .notAnAddress
    }

    /// Whether `host` (as in a URL, IPv6 in brackets or not) is an IP address literal.
    package static func isLiteral(_ host: String) -> Bool {
        category(of: host) != .notAnAddress
    }

    /// The canonical text of an IP address literal (`0:0::1` → `::1`, brackets dropped), nil
    /// for anything else.
    static func canonical(_ host: String) -> String? {
        var text = host
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        for (family, count) in [(AF_INET, 4), (AF_INET6, 16)] {
            guard let bytes = parse(text, family: family, count: count) else { continue }
            var output = [CChar](repeating: 0, count: 64)
            let written = bytes.withUnsafeBytes { input in
                output.withUnsafeMutableBufferPointer { inet_ntop(family, input.baseAddress, $0.baseAddress, 64) != nil }
            }
            guard written, let end = output.firstIndex(of: 0) else { return nil }
            return String(decoding: output[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }

    private static func category(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> PeerAddressCategory {
        switch (a, b) {
        case (0, _): return .unspecified
        case (10, _): return .privateNetwork
        case (100, 64...127): return .sharedAddressSpace
        case (127, _): return .loopback
        case (169, 254): return .linkLocal
        case (172, 16...31): return .privateNetwork
        case (192, 0) where c == 0: return .reserved
        case (192, 168): return .privateNetwork
        case (198, 18...19): return .reserved
        case (224...239, _): return .multicast
        case (240...255, _): return .reserved
        default: return .global
        }
    }

    private static func category(ipv6 bytes: [UInt8]) -> PeerAddressCategory {
        let embedded = { (offset: Int) in category(ipv4: bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return embedded(12)
        }
        if bytes[0..<12].allSatisfy({ $0 == 0 }) {
            if bytes[12..<15].allSatisfy({ $0 == 0 }) {
                if bytes[15] == 0 { return .unspecified }
                if bytes[15] == 1 { return .loopback }
            }
            let inner = embedded(12)
            return inner == .global ? .reserved : inner
        }
        if bytes[0..<12] == [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return embedded(12)
        }
        if bytes[0..<6] == [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01] {
            return .privateNetwork
        }
        if bytes[0] == 0x20 && bytes[1] == 0x02 {
            return embedded(2)
        }
        if bytes[0] == 0xff { return .multicast }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return .linkLocal }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return .privateNetwork }
        if bytes[0] & 0xfe == 0xfc { return .privateNetwork }
        return .global
    }

    private static func parse(_ text: String, family: Int32, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let ok = bytes.withUnsafeMutableBytes { buffer in inet_pton(family, text, buffer.baseAddress) == 1 }
        return ok ? Array(bytes.prefix(count)) : nil
    }
}
