// MARK: Codable as a decimal string

extension BigInteger: Codable {
    /// Decodes a JSON string of decimal digits (an optional sign, then digits): strings avoid
    /// the 2^53 limit of JSON numbers in most parsers.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = BigInteger(text, radix: 10) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a decimal integer string such as \"-123\"")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
