// The validation settings of one source: its kind's defaults with the routing table's overrides applied.

package struct PayloadRules: Sendable, Hashable {
    package var kind: SourceKind
    /// Allowed values per enum field (`details.stage` names the field inside each `details` entry).
    package var enums: [String: [String]]
    package var requiredFields: Set<String>
    package var friendlyIdMaxLength: Int
    package var dedupeFields: [String]

    package static let defaultFriendlyIdMaxLength = 128

    package init(kind: SourceKind,
                enumOverrides: [String: [String]] = [:],
                requiredFields: [String]? = nil,
                friendlyIdMaxLength: Int = PayloadRules.defaultFriendlyIdMaxLength,
                dedupeFields: [String]? = nil) {
        self.kind = kind
        self.enums = kind.defaultEnums.merging(enumOverrides) { _, override in override }
        self.requiredFields = Set(requiredFields ?? kind.defaultRequiredFields)
        self.friendlyIdMaxLength = friendlyIdMaxLength
        self.dedupeFields = dedupeFields ?? kind.defaultDedupeFields
    }
}
