internal import CGMP

// MARK: Text

extension BigInteger: CustomStringConvertible, LosslessStringConvertible {
    /// Parses an optional `-` or `+` followed by one or more digits of `radix` (2...36, either
    /// case); nil for anything else (no spaces, no prefixes such as `0x`).
    public init?(_ text: String, radix: Int = 10) {
        precondition((2...36).contains(radix), "BigInteger: radix must be in 2...36")
        var utf8 = Array(text.utf8)
        var negative = false
        if let first = utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            utf8.removeFirst()
        }
        guard !utf8.isEmpty else { return nil }
        for byte in utf8 {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = Int(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            guard digit < radix else { return nil }
        }
        utf8.append(0)
        let result = GMPStorage()
        let status = utf8.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                __gmpz_set_str(result.pointer, $0.baseAddress, Int32(radix))
            }
        }
        guard status == 0 else { return nil }
        if negative { __gmpz_neg(result.pointer, result.pointer) }
        self.init(storage: result)
    }

    public init?(_ description: String) { self.init(description, radix: 10) }

    /// The digits in `radix` (2...36), lowercase, with a leading `-` for negative values.
    public func toString(radix: Int = 10) -> String {
        precondition((2...36).contains(radix), "BigInteger: radix must be in 2...36")
        let capacity = Int(__gmpz_sizeinbase(storage.pointer, Int32(radix))) + 2
        var buffer = [CChar](repeating: 0, count: capacity)
        buffer.withUnsafeMutableBufferPointer { _ = __gmpz_get_str($0.baseAddress, Int32(radix), storage.pointer) }
        let length = buffer.firstIndex(of: 0) ?? capacity
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Decimal digits.
    public var description: String { toString(radix: 10) }
}

// MARK: Bytes

extension BigInteger {
    /// The non-negative integer whose big-endian bytes are `bytes` (leading zeros allowed; empty is zero).
    public init<Bytes: Collection>(bigEndianBytes bytes: Bytes) where Bytes.Element == UInt8 {
        let result = GMPStorage()
        let array = Array(bytes)
        if !array.isEmpty {
            array.withUnsafeBufferPointer {
                __gmpz_import(result.pointer, $0.count, 1, 1, 1, 0, $0.baseAddress)
            }
        }
        self.init(storage: result)
    }

    /// The big-endian bytes of `|self|`, without leading zeros (empty for zero).
    public var bigEndianBytes: [UInt8] {
        let count = (bitWidth + 7) / 8
        return bigEndianBytes(count: count)!
    }

    /// The big-endian bytes of `|self|` left-padded with zeros to exactly `count` bytes, or nil when
    /// `|self|` needs more.
    public func bigEndianBytes(count: Int) -> [UInt8]? {
        let needed = (bitWidth + 7) / 8
        guard needed <= count else { return nil }
        var bytes = [UInt8](repeating: 0, count: count)
        if needed > 0 {
            bytes.withUnsafeMutableBufferPointer { buffer in
                var written = 0
                _ = __gmpz_export(buffer.baseAddress! + (count - needed), &written, 1, 1, 1, 0, storage.pointer)
            }
        }
        return bytes
    }
}

// MARK: Words

extension BigInteger {
    /// The non-negative integer whose little-endian 64-bit words are `words` (high zero words
    /// allowed; empty is zero).
    public init(littleEndianWords words: UnsafeBufferPointer<UInt64>) {
        let result = GMPStorage()
        if let base = words.baseAddress, words.count > 0 {
            __gmpz_import(result.pointer, words.count, -1, 8, 0, 0, base)
        }
        self.init(storage: result)
    }

    /// The little-endian 64-bit words of `|self|`, padded with zero words to exactly `count`,
    /// or nil when `|self|` needs more.
    public func littleEndianWords(count: Int) -> [UInt64]? {
        let needed = (bitWidth + 63) / 64
        guard needed <= count else { return nil }
        var words = [UInt64](repeating: 0, count: count)
        if needed > 0 {
            words.withUnsafeMutableBufferPointer { buffer in
                var written = 0
                _ = __gmpz_export(buffer.baseAddress!, &written, -1, 8, 0, 0, storage.pointer)
            }
        }
        return words
    }
}

// MARK: Floating point

extension BigInteger {
    /// The integer value of `value` when it is finite and integral, else nil.
    public init?(exactly value: Double) {
        guard value.isFinite, value == value.rounded(.towardZero) else { return nil }
        self.init(storage: GMPStorage())
        __gmpz_set_d(storage.pointer, value)
    }

    /// `self · 2^scale` correctly rounded to the nearest `Double` (ties to even), including
    /// subnormal results; ±infinity when the magnitude exceeds `Double.greatestFiniteMagnitude`.
    ///
    /// Python's `int / 2**k` and `int * 2**k` give the same results.
    public func roundedToDouble(timesPowerOfTwo scale: Int = 0) -> Double {
        if isZero { return 0 }
        let sign: FloatingPointSign = isNegative ? .minus : .plus
        let m = magnitude
        let bits = m.bitWidth
        let topExponent = bits - 1 + scale  // the value lies in [2^topExponent, 2^(topExponent+1))
        if topExponent > Double.greatestFiniteMagnitude.exponent {
            return sign == .minus ? -.infinity : .infinity
        }
        // Significant bits available at this magnitude: 53 for normals, fewer for subnormals.
        let precision = topExponent >= -1022 ? 53 : 53 - (-1022 - topExponent)
        if precision < 0 { return sign == .minus ? -0.0 : 0.0 }
        let drop = bits - precision
        var kept: BigInteger
        if drop > 0 {
            kept = m >> drop
            let remainder = m.lowBits(drop)
            let half = BigInteger(1) << (drop - 1)
            if remainder > half || (remainder == half && kept.isOdd) { kept += 1 }
        } else {
            kept = m
        }
        let significand = Double(kept.uint64Value!)
        let shift = scale + max(drop, 0)
        let result = Double(sign: .plus, exponent: shift, significand: significand)
        if result.isInfinite || result > Double.greatestFiniteMagnitude {
            return sign == .minus ? -.infinity : .infinity
        }
        return sign == .minus ? -result : result
    }
}
