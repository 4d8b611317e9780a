internal import CGMP

/// An arbitrary-precision signed integer: a value type over GMP's `mpz_t`.
///
/// Copies share one GMP integer until one of them is mutated (copy on write). When the last copy
/// goes away its limbs are zeroed before `mpz_clear`, and GMP's own reallocations zero the blocks
/// they leave, so secret values (primes, private exponents) do not linger in freed memory.
///
/// Laws: `BigInteger` is a commutative ring under `+` and `*`; `/` and `%` truncate toward zero as
/// Swift's integers do (`a == (a / b) * b + a % b`, `a % b` has the sign of `a`), while
/// `modulo(_:)` always returns a value in `0 ..< |m|`.
///
/// - Complexity: addition is O(n) in the limb count; multiplication and division use GMP's
///   sub-quadratic algorithms (Karatsuba, Toom–Cook, FFT) from a few dozen limbs on.
///
/// Caveat: arithmetic is not constant-time, except `securePower(_:modulo:)`.
public struct BigInteger: Sendable {
    var storage: GMPStorage

    init(storage: GMPStorage) { self.storage = storage }

    /// Zero.
    public init() { storage = GMPStorage() }

    /// The value of a machine integer.
    public init<T: BinaryInteger>(_ value: T) {
        storage = GMPStorage()
        if let small = Int(exactly: value) {
            __gmpz_set_si(storage.pointer, small)
        } else if let unsigned = UInt(exactly: value) {
            __gmpz_set_ui(storage.pointer, unsigned)
        } else {
            // Wider than 64 bits: assemble from 64-bit words, most significant first.
            let magnitude = value.magnitude
            var words: [UInt64] = []
            var rest = magnitude
            while rest != 0 {
                words.append(UInt64(truncatingIfNeeded: rest))
                rest >>= 64
            }
            let temp = GMPStorage()
            for word in words.reversed() {
                __gmpz_mul_2exp(temp.pointer, temp.pointer, 64)
                __gmpz_add_ui(temp.pointer, temp.pointer, UInt(word))
            }
            if value < 0 { __gmpz_neg(temp.pointer, temp.pointer) }
            storage = temp
        }
    }

    /// Makes `storage` unique before an in-place change.
    @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = GMPStorage(copying: storage)
        }
    }

    /// Builds a new value by running a GMP call that writes into a fresh `mpz_t`.
    @inline(__always)
    static func make(_ body: (UnsafeMutablePointer<__mpz_struct>) -> Void) -> BigInteger {
        let result = GMPStorage()
        body(result.pointer)
        return BigInteger(storage: result)
    }

    // MARK: Properties

    /// -1, 0 or 1.
    public var signum: Int { Int(privacylab_mpz_sgn(storage.pointer)) }
    public var isZero: Bool { signum == 0 }
    public var isNegative: Bool { signum < 0 }
    public var isOdd: Bool { privacylab_mpz_odd_p(storage.pointer) != 0 }
    public var isEven: Bool { !isOdd }

    /// The number of bits of `|self|` (0 for zero).
    public var bitWidth: Int {
        isZero ? 0 : Int(__gmpz_sizeinbase(storage.pointer, 2))
    }

    /// The absolute value.
    public var magnitude: BigInteger {
        signum >= 0 ? self : BigInteger.make { __gmpz_abs($0, storage.pointer) }
    }

    /// Bit `index` of the two's-complement representation.
    public func testBit(_ index: Int) -> Bool {
        precondition(index >= 0, "BigInteger.testBit: negative bit index \(index)")
        return __gmpz_tstbit(storage.pointer, mp_bitcnt_t(index)) != 0
    }

    /// Sets bit `index` of the two's-complement representation to one.
    public mutating func setBit(_ index: Int) {
        precondition(index >= 0, "BigInteger.setBit: negative bit index \(index)")
        makeUnique()
        __gmpz_setbit(storage.pointer, mp_bitcnt_t(index))
    }

    /// The value as an `Int`, or nil when it does not fit.
    public var intValue: Int? {
        __gmpz_fits_slong_p(storage.pointer) != 0 ? __gmpz_get_si(storage.pointer) : nil
    }

    /// The value as a `UInt64`, or nil when it is negative or does not fit.
    public var uint64Value: UInt64? {
        __gmpz_fits_ulong_p(storage.pointer) != 0 ? UInt64(__gmpz_get_ui(storage.pointer)) : nil
    }
}

extension BigInteger: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self.init(value) }
}

// MARK: Comparison and hashing

extension BigInteger: Comparable, Hashable {
    public static func == (lhs: BigInteger, rhs: BigInteger) -> Bool {
        lhs.storage === rhs.storage || __gmpz_cmp(lhs.storage.pointer, rhs.storage.pointer) == 0
    }

    public static func < (lhs: BigInteger, rhs: BigInteger) -> Bool {
        __gmpz_cmp(lhs.storage.pointer, rhs.storage.pointer) < 0
    }

    /// Compares magnitudes: -1, 0 or 1 as `|self|` is less than, equal to or greater than `|other|`.
    public func compareMagnitude(_ other: BigInteger) -> Int {
        Int(__gmpz_cmpabs(storage.pointer, other.storage.pointer).signum())
    }

    public func hash(into hasher: inout Hasher) {
        let z = storage.pointer.pointee
        hasher.combine(z._mp_size)
        let count = Int(z._mp_size.magnitude)
        if count > 0, let data = z._mp_d {
            hasher.combine(bytes: UnsafeRawBufferPointer(
                start: data, count: count * MemoryLayout<mp_limb_t>.stride))
        }
    }
}

// MARK: Comparison with machine integers

extension BigInteger {
    public static func == (lhs: BigInteger, rhs: Int) -> Bool {
        privacylab_mpz_cmp_si(lhs.storage.pointer, rhs) == 0
    }

    public static func < (lhs: BigInteger, rhs: Int) -> Bool {
        privacylab_mpz_cmp_si(lhs.storage.pointer, rhs) < 0
    }

    public static func > (lhs: BigInteger, rhs: Int) -> Bool {
        privacylab_mpz_cmp_si(lhs.storage.pointer, rhs) > 0
    }
}
